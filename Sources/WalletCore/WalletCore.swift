// WalletCore: placeholder until its stage lands.
