"""fsth_core: few-shot talking heads (Zakharov et al., ICCV 2019) in plain PyTorch.

Never imports ComfyUI.  Submodules are imported on demand so that ``import fsth_core``
stays cheap (the ComfyUI node layer imports it at start-up).
"""
__version__ = "0.1.0"
