import subprocess
import sys


def test_options_module_imports_neither_torch_nor_cv2():
    code = "import sys, fsth_core.options; print(sorted({'torch', 'cv2'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_prepare_and_media_share_the_video_extensions():
    from fsth_core.data import prepare
    from fsth_core import media, options
    assert prepare.VIDEO_EXTS is options.VIDEO_EXTS is media.VIDEO_EXTS
    assert ".gif" in options.VIDEO_EXTS
