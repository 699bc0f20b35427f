print("vae: under construction")
