// GatewayService: placeholder until its stage lands.
