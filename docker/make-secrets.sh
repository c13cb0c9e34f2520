#!/usr/bin/env bash
# make-secrets.sh: the files docker-compose.yml mounts as secrets, in docker/secrets/.
#
#   docker/make-secrets.sh
#
# Makes what is missing and keeps what exists (the wallet's passphrase and the audit keys must
# never change under a database that uses them); the service tokens are minted again at every
# run (valid 30 days). The deployment's token key (auth.key.pem) stays here too: for a
# development cluster; a real deployment keeps it off the machines that run the daemons.
#
# duxctl mints the tokens: $DUXCTL, else duxctl on PATH, else the one in the duxos image
# (docker run). The directory is 0700; the files are 0644 so that the containers' uid 10001
# can read its bind-mounted copies (compose file secrets keep the host's owner and mode).
set -euo pipefail
shopt -s inherit_errexit

readonly PROG=${0##*/}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
readonly HERE
readonly DIR=$HERE/secrets

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

duxctl() {
    if [[ -n ${DUXCTL:-} ]]; then
        "$DUXCTL" "$@"
    elif command -v duxctl >/dev/null; then
        command duxctl "$@"
    else
        docker run --rm -v "$DIR:/s:ro" --entrypoint duxctl "duxos:${DUXOS_TAG:-latest}" \
            "${@//$DIR//s}"
    fi
}

ed25519() { [[ -s $DIR/$1 ]] || openssl genpkey -algorithm ed25519 -out "$DIR/$1" 2>/dev/null; }
random() { [[ -s $DIR/$1 ]] || openssl rand -base64 32 >"$DIR/$1"; }

command -v openssl >/dev/null || die "openssl is missing"
mkdir -p "$DIR"
chmod 700 "$DIR"
ed25519 auth.key.pem
openssl pkey -in "$DIR/auth.key.pem" -pubout -out "$DIR/auth-public-key"
random db-password
random wallet-passphrase
ed25519 escrow-audit-key
ed25519 airdrop-audit-key
# file, sub (the daemon that uses it)
for pair in escrow-wallet-token:duxos-escrow escrow-tasks-token:duxos-escrow \
    store-wallet-token:duxos-store store-escrow-token:duxos-store \
    tasks-registry-token:duxos-tasks tasks-escrow-token:duxos-tasks \
    airdrop-service-token:duxos-airdrop; do
    duxctl token mint --key "$DIR/auth.key.pem" --sub "${pair#*:}" --scope service \
        --ttl 2592000 >"$DIR/${pair%%:*}.new" || die "duxctl could not mint ${pair%%:*}"
    mv -f "$DIR/${pair%%:*}.new" "$DIR/${pair%%:*}"
done
chmod 644 "$DIR"/*
chmod 600 "$DIR/auth.key.pem"
printf '%s: secrets in %s\n' "$PROG" "$DIR"
