"""Last of the suite (by file name): no token or key material reached any serac's output."""

import gcsenv


def test_no_secret_in_any_server_output(server, token_server, bearer):
    assert gcsenv.SECRETS, "the suite registered no secrets to look for"
    leaks = []
    for srv in gcsenv.SERVERS:
        text = (srv.log_path.read_text(errors="replace") if srv.log_path else "") + \
            "\n".join(srv.stdout_lines)
        assert text, f"no output of {srv.name} to check"
        for secret in gcsenv.SECRETS:
            if secret in text:
                leaks.append(f"{secret[:6]}... (length {len(secret)}) in {srv.log_path}")
    assert not leaks, "secrets in server output:\n" + "\n".join(leaks)
