"""The networks and what defines them: presets (config), layers, the three networks, the model that holds them,
the warp-guided generator's extra input (guidance), VGG content networks, losses, safetensors weights and converters.
"""
