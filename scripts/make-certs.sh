#!/usr/bin/env bash
# Makes a throwaway CA and one certificate per node for mutual TLS on the
# cluster port (--cluster-tls-cert/-key/-ca). Every node is client and server
# on that port, so each certificate carries serverAuth and clientAuth.
#
#   scripts/make-certs.sh DIR NAME[=SAN,SAN...] ...
#   scripts/make-certs.sh /tmp/certs node1=IP:127.0.0.1 node2=IP:127.0.0.2,DNS:node2.local
#
# Writes DIR/ca.pem, DIR/ca.key (keep it secret, or delete it once all nodes
# have certificates) and DIR/NAME.pem + DIR/NAME.key per node. A NAME without
# SANs gets DNS:NAME. An existing DIR/ca.pem + ca.key is reused, so more nodes
# can be added later. Needs the openssl CLI. CA_DAYS/NODE_DAYS set lifetimes.
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
dir=$1; shift
mkdir -p "$dir"
umask 077
if [ ! -s "$dir/ca.pem" ] || [ ! -s "$dir/ca.key" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "${CA_DAYS:-3650}" \
    -subj "/CN=chat cluster CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
fi
for spec in "$@"; do
  name=${spec%%=*}
  san=${spec#*=}
  [ "$san" = "$spec" ] && san="DNS:$name"
  case $name in ''|*/*) echo "bad node name: $name" >&2; exit 2 ;; esac
  ext=$(mktemp)
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=$san" >"$ext"
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=$name" \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -sha256 -days "${NODE_DAYS:-825}" -in "$dir/$name.csr" \
    -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -extfile "$ext" -out "$dir/$name.pem" 2>/dev/null
  rm -f "$dir/$name.csr" "$ext"
done
chmod 644 "$dir"/*.pem
echo "certificates in $dir: ca.pem, $(printf '%s ' "${@%%=*}" | sed 's/ $//;s/\([^ ]*\)/\1.{pem,key}/g')" >&2
