"""The app's entry point (`streamlit run dashboard/Home.py`): the navigation, in sections, and the chosen page.

The pages themselves live in ``app_pages/`` (not ``pages/``, which Streamlit would list a second time);
``ui.SECTIONS`` says where each appears in the menu.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, no install step

from dashboard import model_cache, ui  # noqa: E402
from runfolder import runs  # noqa: E402

if model_cache.warm_up_wanted(ui.secrets()):
    model_cache.warm_up_in_background(str(runs.SHIPPED_RUNS[runs.DEFAULT_RUN]))  # TensorFlow ready before it's asked
ui.navigation().run()
