"""Running the HTTP server: listen, print how to connect, stop cleanly on SIGINT/SIGTERM."""
import asyncio
import logging
import signal

import tornado.httpserver

from rucio_tornado.app import make_app
from rucio_tornado.cli import open_database, safe_url

log = logging.getLogger("rucio_tornado")

CLIENT_CFG = """[client]
rucio_host = {url}
auth_host = {url}
auth_type = userpass
username = {username}
password = {password}
account = {account}"""


def banner(settings):
    url = f"http://{settings.host}:{settings.port}"
    shown_password = settings.root_password if not settings.is_production else "<your password>"
    return "\n".join([
        f"rucio-tornado {settings.mode} server at {url}",
        f"database: {safe_url(settings.db_url)}",
        "client configuration (save as rucio.cfg and export RUCIO_CONFIG=$PWD/rucio.cfg):",
        CLIENT_CFG.format(url=url, username=settings.root_username, password=shown_password,
                          account=settings.root_account),
    ])


async def serve(settings):
    database = open_database(settings)
    app = make_app(settings, database)
    server = tornado.httpserver.HTTPServer(app, xheaders=False)
    server.listen(settings.port, settings.host)
    print(banner(settings), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    server.stop()
    await server.close_all_connections()
    database.close()


def run_server(settings):
    asyncio.run(serve(settings))
    return 0
