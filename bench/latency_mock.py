#!/usr/bin/env python3
# A provider stand-in for benchmarks: answers every request after a fixed
# delay (default 50 ms) with a Stripe-shaped payment intent (or, with
# "solapi", Solapi's accepted message), on keep-alive connections.
# asyncio: thousands of waiting requests cost no thread.
#
#   bench/latency_mock.py PORT [DELAY_MS [stripe|solapi]]

import asyncio
import sys

BODY = (b'{"id":"pi_bench","object":"payment_intent","amount":1050,'
        b'"currency":"usd","status":"succeeded","created":1700000000,'
        b'"metadata":{"order_id":"bench-1"}}')
if len(sys.argv) > 3 and sys.argv[3] == 'solapi':
    BODY = (b'{"groupId":"G4VBENCH","messageId":"M4VBENCH",'
            b'"accountId":"19000000000000","statusCode":"2000",'
            b'"statusMessage":"ok","to":"01012345678","from":"0293022266",'
            b'"type":"SMS","country":"82"}')
HEAD = (b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n'
        b'Content-Length: ' + str(len(BODY)).encode() + b'\r\n\r\n')


async def serve(reader, writer, delay):
    try:
        while True:
            head = await reader.readuntil(b'\r\n\r\n')
            length = 0
            for line in head.split(b'\r\n'):
                if line[:15].lower() == b'content-length:':
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            await asyncio.sleep(delay)
            writer.write(HEAD + BODY)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    port = int(sys.argv[1])
    delay = (int(sys.argv[2]) if len(sys.argv) > 2 else 50) / 1000
    server = await asyncio.start_server(
        lambda r, w: serve(r, w, delay), '127.0.0.1', port, backlog=4096)
    async with server:
        await server.serve_forever()

asyncio.run(main())
