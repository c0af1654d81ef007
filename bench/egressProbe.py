"""Connect latency and download time, through the sandbox's egress proxy or directly.

    python3 egressProbe.py proxy|direct HOST ECHO_PORT HTTP_PORT ROUNDS

Latency: a new TCP connection to the echo origin until one byte comes back (through the
proxy: connect to 127.0.0.1:3128, CONNECT, then the byte). Prints one JSON object.
"""
import json, socket, sys, time, urllib.request

mode, host, echo_port, http_port, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])

def once():
    t = time.perf_counter()
    if mode == 'proxy':
        s = socket.create_connection(('127.0.0.1', 3128))
        s.sendall(f'CONNECT {host}:{echo_port} HTTP/1.1\r\nHost: {host}:{echo_port}\r\n\r\n'.encode())
        head = b''
        while b'\r\n\r\n' not in head:
            head += s.recv(1024)
        assert b' 200 ' in head.split(b'\r\n')[0], head
    else:
        s = socket.create_connection(('127.0.0.1', echo_port))
    s.sendall(b'x')
    assert s.recv(1) == b'x'
    s.close()
    return (time.perf_counter() - t) * 1000

for _ in range(20):
    once()
latencies = [once() for _ in range(rounds)]

url = f'http://{host}:{http_port}/big' if mode == 'proxy' else f'http://127.0.0.1:{http_port}/big'
opener = urllib.request.build_opener() if mode == 'proxy' else urllib.request.build_opener(urllib.request.ProxyHandler({}))
t = time.perf_counter()
with opener.open(url) as r:
    n = 0
    while True:
        chunk = r.read(1 << 20)
        if not chunk:
            break
        n += len(chunk)
download_ms = (time.perf_counter() - t) * 1000
print(json.dumps({'latencies': latencies, 'downloadMs': download_ms, 'bytes': n}))
