"""ComfyUI nodes: a thin layer over fsth_core (validate, convert, call one function, return)."""
NODE_CLASS_MAPPINGS: dict = {}
NODE_DISPLAY_NAME_MAPPINGS: dict = {}
