// VAEKit
