print("bankgw: under construction")
