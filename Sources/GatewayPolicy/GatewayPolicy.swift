// GatewayPolicy: placeholder until its stage lands.
