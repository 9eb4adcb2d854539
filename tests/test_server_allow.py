"""`aural serve --allow`: only the named client networks are served; tested with the
distinct client addresses of 127.0.0.0/8 (a client socket bound to 127.0.0.2, 127.0.0.3…)."""

import http.client
import json
import socket
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from aural.cli import main

GOOD = json.dumps({"query": ["<|im_start|>assistant\n(B)<|im_end|>"], "prompts": ["<|im_start|>assistant\n"], "labels": ["B"]})


def start_server():
    """A server on loopback that serves 127.0.0.2 and 127.0.0.16/28: its process, host and port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "aural", "serve", "--port", "0", "--workers", "1", "--allow", "127.0.0.2", "127.0.0.16/28"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = urlsplit(process.stdout.readline().split()[-1])
    return process, url.hostname, url.port


@pytest.fixture(scope="module")
def server():
    started = start_server()
    yield started
    started[0].terminate()
    started[0].communicate(timeout=30)


def request(server, client, method, path, body=None, headers=None):
    """One request from the client address `client`; the status and the decoded JSON reply."""
    _, host, port = server
    connection = http.client.HTTPConnection(host, port, timeout=30, source_address=(client, 0))
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
        reply = connection.getresponse()
        return reply.status, json.loads(reply.read())
    finally:
        connection.close()


@pytest.mark.parametrize("client", ["127.0.0.2", "127.0.0.17", "127.0.0.31"])
def test_allowed_clients_are_served(server, client):
    status, reply = request(server, client, "POST", "/get_reward", GOOD)
    assert (status, reply["rewards"]) == (200, [0.8])
    assert request(server, client, "GET", "/health") == (200, {"status": "ok", "recipe": "step-audio-r1"})


@pytest.mark.parametrize("client", ["127.0.0.1", "127.0.0.3", "127.0.0.32"])
def test_other_clients_get_403_on_every_route(server, client):
    status, reply = request(server, client, "POST", "/get_reward", GOOD)
    assert status == 403
    assert reply == {"error": f"client {client} is not allowed"}
    assert request(server, client, "GET", "/health")[0] == 403


def test_a_refused_client_gets_403_before_sending_its_body(server):
    _, host, port = server
    with socket.create_connection((host, port), timeout=30, source_address=("127.0.0.4", 0)) as client:
        client.sendall(b"POST /get_reward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
        head = client.recv(65536)  # no body sent: a server that waited for it would time out here
    assert head.startswith(b"HTTP/1.1 403 ")


def test_refused_clients_are_logged_once_per_address():
    server = start_server()
    for _ in range(3):
        assert request(server, "127.0.0.5", "GET", "/health")[0] == 403
    assert request(server, "127.0.0.6", "GET", "/health")[0] == 403
    assert request(server, "127.0.0.2", "GET", "/health")[0] == 200
    process, _, _ = server
    process.terminate()
    log = process.communicate(timeout=30)[1]
    assert log.count("refused client 127.0.0.5") == 1
    assert log.count("refused client 127.0.0.6") == 1
    assert "127.0.0.2" not in log


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "node-1.cluster"])
def test_a_non_loopback_host_without_allow_refuses_to_start(host, capsys):
    assert main(["serve", "--host", host, "--port", "0"]) == 2
    assert "--allow" in capsys.readouterr().err


def test_a_malformed_network_is_a_usage_error(capsys):
    assert main(["serve", "--host", "0.0.0.0", "--port", "0", "--allow", "10.0.0.300/8"]) == 2
    assert "--allow: 10.0.0.300/8" in capsys.readouterr().err


def test_ipv4_clients_of_an_ipv6_socket_match_their_ipv4_network():
    from aural.rewards.server import AllowClients, parse_allow

    allow = AllowClients(None, parse_allow(["10.0.0.0/8", "fd00::/8"]))
    assert [allow.allowed(host) for host in ("::ffff:10.1.2.3", "10.9.9.9", "fd12::1")] == [True, True, True]
    assert [allow.allowed(host) for host in ("::ffff:11.0.0.1", "fe80::1", "", "not-an-address")] == [False] * 4
