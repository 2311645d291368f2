// GatewayRPC: placeholder until its stage lands.
