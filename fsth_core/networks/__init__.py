"""The paper's three networks (config-free, keyword constructors)."""
from fsth_core.networks.discriminator import Discriminator
from fsth_core.networks.embedder import Embedder
from fsth_core.networks.generator import Generator

__all__ = ["Embedder", "Generator", "Discriminator"]
