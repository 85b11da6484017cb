"""The ComfyUI 0.8.0 core nodes the example workflows use, as its /object_info would describe them.

Transcribed from ComfyUI 0.8.0 (commit 3cd7b32f): nodes.py (CheckpointLoaderSimple, CLIPTextEncode,
EmptyLatentImage, KSampler, VAEDecode, LoadImage, SaveImage, PreviewImage), comfy_extras/
nodes_video.py (LoadVideo, GetVideoComponents, CreateVideo, SaveVideo; VideoContainer / VideoCodec in
comfy_api/latest/_util/video_types.py), nodes_audio.py (LoadAudio), nodes_images.py (SaveAnimatedWEBP),
nodes_post_processing.py (BatchImagesNode), comfy/samplers.py (sampler and scheduler names).
tests/test_comfy_real.py checks this transcription against a real ComfyUI where one is built.

Each node: ``widgets`` in widgets_values order as (name, type, spec), where spec is a COMBO's options (None:
the files of an installation), (min, max) for INT / FLOAT, and ``"control"`` as a fourth item marks
control_after_generate (one more value follows); UI-only widgets the frontend saves (an upload button,
an audio player) have type "UI".  ``inputs``: socket inputs {name: type}; ``outputs``: output types.
"""
MAX_RESOLUTION = 16384
SAMPLERS = [
    "euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp", "heun", "heunpp2", "exp_heun_2_x0",
    "exp_heun_2_x0_sde", "dpm_2", "dpm_2_ancestral", "lms", "dpm_fast", "dpm_adaptive", "dpmpp_2s_ancestral",
    "dpmpp_2s_ancestral_cfg_pp", "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m", "dpmpp_2m_cfg_pp", "dpmpp_2m_sde",
    "dpmpp_2m_sde_gpu", "dpmpp_2m_sde_heun", "dpmpp_2m_sde_heun_gpu", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm",
    "lcm", "ipndm", "ipndm_v", "deis", "res_multistep", "res_multistep_cfg_pp", "res_multistep_ancestral",
    "res_multistep_ancestral_cfg_pp", "gradient_estimation", "gradient_estimation_cfg_pp", "er_sde", "seeds_2",
    "seeds_3", "sa_solver", "sa_solver_pece", "ddim", "uni_pc", "uni_pc_bh2"]
SCHEDULERS = ["simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal",
              "linear_quadratic", "kl_optimal"]


def _node(widgets=(), inputs=None, outputs=()):
    return {"widgets": list(widgets), "inputs": dict(inputs or {}), "outputs": list(outputs)}


CORE = {
    "CheckpointLoaderSimple": _node([("ckpt_name", "COMBO", None)], {}, ["MODEL", "CLIP", "VAE"]),
    "CLIPTextEncode": _node([("text", "STRING", None)], {"clip": "CLIP"}, ["CONDITIONING"]),
    "EmptyLatentImage": _node([("width", "INT", (16, MAX_RESOLUTION)), ("height", "INT", (16, MAX_RESOLUTION)),
                               ("batch_size", "INT", (1, 4096))], {}, ["LATENT"]),
    "KSampler": _node([("seed", "INT", (0, 0xffffffffffffffff), "control"), ("steps", "INT", (1, 10000)),
                       ("cfg", "FLOAT", (0.0, 100.0)), ("sampler_name", "COMBO", SAMPLERS),
                       ("scheduler", "COMBO", SCHEDULERS), ("denoise", "FLOAT", (0.0, 1.0))],
                      {"model": "MODEL", "positive": "CONDITIONING", "negative": "CONDITIONING",
                       "latent_image": "LATENT"}, ["LATENT"]),
    "VAEDecode": _node([], {"samples": "LATENT", "vae": "VAE"}, ["IMAGE"]),
    "LoadImage": _node([("image", "COMBO", None), ("upload", "UI", None)], {}, ["IMAGE", "MASK"]),
    "LoadVideo": _node([("file", "COMBO", None), ("upload", "UI", None)], {}, ["VIDEO"]),
    "LoadAudio": _node([("audio", "COMBO", None), ("audioUI", "UI", None), ("upload", "UI", None)], {}, ["AUDIO"]),
    "GetVideoComponents": _node([], {"video": "VIDEO"}, ["IMAGE", "AUDIO", "FLOAT"]),
    "CreateVideo": _node([("fps", "FLOAT", (1.0, 120.0))], {"images": "IMAGE", "audio": "AUDIO"}, ["VIDEO"]),
    "SaveVideo": _node([("filename_prefix", "STRING", None), ("format", "COMBO", ["auto", "mp4"]),
                        ("codec", "COMBO", ["auto", "h264"])], {"video": "VIDEO"}),
    "SaveImage": _node([("filename_prefix", "STRING", None)], {"images": "IMAGE"}),
    "SaveAnimatedWEBP": _node([("filename_prefix", "STRING", None), ("fps", "FLOAT", (0.01, 1000.0)),
                               ("lossless", "BOOLEAN", None), ("quality", "INT", (0, 100)),
                               ("method", "COMBO", ["default", "fastest", "slowest"])], {"images": "IMAGE"}),
    "PreviewImage": _node([], {"images": "IMAGE"}),
    "BatchImagesNode": _node([], {}, ["IMAGE"]),  # "Batch Images": its inputs grow, see AUTOGROW
}
# inputs that grow as they are connected (ComfyUI's Autogrow): node -> (input, prefix, type, min, max); the
# sockets are named "<input>.<prefix>0", "<input>.<prefix>1", ..., the first ``min`` required
AUTOGROW = {"BatchImagesNode": ("images", "image", "IMAGE", 2, 50)}
# nodes of the frontend alone (never sent to the server): node -> widgets
FRONTEND_ONLY = {"MarkdownNote": [("text", "STRING", None)], "Note": [("text", "STRING", None)]}
# every node ComfyUI 0.8.0's /object_info marks "deprecated": True (the [DEPR] badge); a template uses none
DEPRECATED = {"ByteDanceImageEditNode", "CheckpointLoader", "ControlNetApply", "ControlNetApplySD3", "ImageBatch",
              "LatentBatch", "PerpNeg", "wanBlockSwap"}
OPTIONAL_INPUTS = {("CreateVideo", "audio")}
OUTPUT_NODES = {"SaveVideo", "SaveImage", "SaveAnimatedWEBP", "PreviewImage"}
