#!/usr/bin/env python3
"""A client of Cuentista's generator service: streams one generation from a coordinator.

    python examples/python/generate.py --prompt "Había una vez" --max-new-tokens 40

Needs the classes protoc generates from Protos/ (see README.md) in examples/python/gen, or in
the folder named by CUENTISTA_PY_GEN. Exit status: 0 done, 2 the service answered an error,
3 no reply within --timeout-ms.
"""
import argparse
import json
import os
import sys
import uuid

sys.path.insert(0, os.environ.get("CUENTISTA_PY_GEN") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

import zmq  # noqa: E402
from cuentista.v1 import common_pb2, generation_pb2  # noqa: E402

CLIENT = b"MDPC02"  # Majordomo 0.2, client side (Protos/cuentista/v1/service.proto)
REQUEST, PARTIAL, FINAL = b"\x01", b"\x02", b"\x03"
STRATEGIES = {"greedy": generation_pb2.STRATEGY_GREEDY, "sample": generation_pb2.STRATEGY_SAMPLE,
              "epsilon-greedy": generation_pb2.STRATEGY_EPSILON_GREEDY}


def enum_name(enum, value, prefix):
    """FINISH_REASON_LENGTH -> LENGTH; a value this copy of the protos does not know -> its number."""
    return enum.Name(value).removeprefix(prefix) if value in enum.values() else str(value)


def main():
    parser = argparse.ArgumentParser(description="Stream a generation from Cuentista's generator service.")
    parser.add_argument("--coordinator", default="tcp://127.0.0.1:5555", help="the coordinator's endpoint")
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--max-new-tokens", type=int, default=0, help="0: the service's default (32)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="greedy")
    parser.add_argument("--temperature", type=float, default=0.0, help="0: the default, 1")
    parser.add_argument("--top-k", type=int, default=0, help="0: off")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trace-top", type=int, default=0, help="candidates per step to print after the text")
    parser.add_argument("--request-id", default=f"py-{uuid.uuid4().hex[:12]}")
    parser.add_argument("--timeout-ms", type=int, default=60_000, help="longest wait for each reply")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end instead")
    args = parser.parse_args()
    sys.stdout.reconfigure(encoding="utf-8")

    parameters = generation_pb2.GenerationParameters(
        strategy=STRATEGIES[args.strategy], max_new_tokens=args.max_new_tokens, temperature=args.temperature,
        top_k=args.top_k, seed=args.seed, trace_top=args.trace_top)
    call = generation_pb2.GeneratorCall(generate=generation_pb2.GenerateRequest(
        version=common_pb2.PROTOCOL_VERSION_1, request_id=args.request_id, text=args.prompt,
        parameters=parameters, stream=True))

    context = zmq.Context()
    socket = context.socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(args.coordinator)
    socket.send_multipart([b"", CLIENT, REQUEST, b"generate", call.SerializeToString()])
    try:
        final = receive(socket, args)
    finally:
        socket.close()
        context.term()

    completion = final.completions[0]
    reason = enum_name(generation_pb2.FinishReason, completion.finish_reason, "FINISH_REASON_")
    if args.json:
        print(json.dumps({"text": completion.text, "tokens": list(completion.tokens),
                          "finish_reason": reason.lower(), "model": final.model}))
        return
    print(f"\n[{len(completion.tokens)} tokens, finish reason: {reason.lower()}]")
    for step in completion.trace:
        print(f"step {step.step}: chose {step.chosen_text!r} (rank {step.chosen_rank})")
        print(f"  {'candidate':<20} {'probability':>12} {'processed':>12}")
        for candidate in step.candidates:
            print(f"  {candidate.text!r:<20} {candidate.probability:>12.6f} {candidate.processed_probability:>12.6f}")


def receive(socket, args):
    """Prints the streamed text until the final reply and returns it (GenerateFinal)."""
    while True:
        if not socket.poll(args.timeout_ms):
            print(f"no reply from {args.coordinator} within {args.timeout_ms} ms", file=sys.stderr)
            sys.exit(3)
        frames = socket.recv_multipart()
        if len(frames) != 5 or frames[0] != b"" or frames[1] != CLIENT or frames[2] not in (PARTIAL, FINAL):
            print(f"ignoring a reply with unexpected frames: {frames[:3]}", file=sys.stderr)
            continue
        event = generation_pb2.GenerateEvent.FromString(frames[4])
        kind = event.WhichOneof("event")
        if kind == "error":
            code = enum_name(common_pb2.ErrorCode, event.error.code, "ERROR_CODE_")
            print(f"error {code}: {event.error.message}", file=sys.stderr)
            sys.exit(2)
        if kind == "token" and not args.json and event.token.completion == 0:
            sys.stdout.write(event.token.text)
            sys.stdout.flush()
        if kind == "final":
            return event.final
        if frames[2] == FINAL:
            print(f"error: the final reply holds no result ({kind})", file=sys.stderr)
            sys.exit(2)


if __name__ == "__main__":
    main()
