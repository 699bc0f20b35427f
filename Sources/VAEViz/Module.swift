// VAEViz
