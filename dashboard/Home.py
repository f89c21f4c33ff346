"""The app's entry point (`streamlit run dashboard/Home.py`): the navigation, in sections, and the chosen page.

The pages themselves live in ``app_pages/`` (not ``pages/``, which Streamlit would list a second time);
``ui.SECTIONS`` says where each appears in the menu.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, no install step

from dashboard import ui  # noqa: E402

ui.navigation().run()
