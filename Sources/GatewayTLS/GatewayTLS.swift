// GatewayTLS: placeholder until its stage lands.
