// VAECore
