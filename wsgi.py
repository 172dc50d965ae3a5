"""What flask, waitress and gunicorn load: `app`."""
from judging import create_app

app = create_app()
