"""Qt widgets of the desktop app: tray, overlay, dialogs.

torch is imported here, before any module of this package can import PyQt6: on Windows
the reverse order breaks torch's DLL loading (Qt puts its own copies of the MSVC runtime
and OpenMP on the search path first). Every `app.ui.*` import runs this file first.
"""

import torch  # noqa: F401  (import order matters, see above)
