"""gunicorn's settings for TaskHub's web processes: `gunicorn -c python:taskhub.gunicorn_config taskhub.wsgi`
(the Dockerfile and docker-compose.yml do this).

Why threaded workers. A red-team reply streams through Django as server-sent events for as long as the
model writes, up to TASKHUB_MODEL_MAX_REPLY_SECONDS. A sync worker is one process per request: a few
contractors waiting on the model would hold every worker, the rest of the site would queue behind them,
and the worker timeout would kill their streams. With the `gthread` worker a stream holds one thread of
a process. Each process streams at most TASKHUB_MODEL_STREAMS_PER_PROCESS replies at once (a further one
is told "the model is busy, send again in a few seconds", annotations/services/conversation.py), and it
has more threads than that, so pages always find a free thread. A gthread worker's main thread keeps
telling the arbiter it is alive while its threads work, so a long stream is not taken for a hung
worker; `timeout` still restarts a process that really hangs. A restart (a deploy's SIGTERM, SIGHUP)
lets the streams finish within `graceful_timeout`, longer than the longest reply. Tested in
tests/annotations/test_conversation_server.py.

Every setting can be changed from the environment (GUNICORN_*); the stream cap is read from the
variable Django reads, so the two cannot disagree.
"""

import os

_streams = int(os.environ.get("TASKHUB_MODEL_STREAMS_PER_PROCESS", "6"))
_longest_reply = int(os.environ.get("TASKHUB_MODEL_MAX_REPLY_SECONDS", "180"))

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
worker_class = "gthread"
# At least four threads beyond the streams a process may hold: ordinary pages never wait for a stream.
threads = max(int(os.environ.get("GUNICORN_THREADS", "12")), _streams + 4)
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", str(_longest_reply + 30)))
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
# No gunicornc control socket: nothing uses it, and several servers on one machine would share its path.
control_socket_disable = True
