"""Last of the suite (by file name): no secret reached any serac's output.

Every serac the suite started (s3env.SERVERS) ran at log level debug; every key id, secret and
session token the suite configured or was handed is in s3env.SECRETS. None of them may appear in
a server's stderr log or stdout.
"""

import s3env


def test_no_secret_in_any_server_output(server):
    # `server` makes sure the session server ran even when this file runs alone
    assert s3env.SECRETS, "the suite registered no secrets to look for"
    outputs = {}
    for srv in s3env.SERVERS:
        text = srv.log_path.read_text(errors="replace") if srv.log_path else ""
        text += "\n".join(srv.stdout_lines)
        outputs[str(srv.log_path)] = text
    assert outputs and any(outputs.values()), "no server output to check"
    leaks = []
    for secret in sorted(s3env.SECRETS):
        for path, text in outputs.items():
            if secret in text:
                leaks.append(f"{secret[:4]}... (length {len(secret)}) in {path}")
    assert not leaks, "secrets in server output:\n" + "\n".join(leaks)
