# Sourced after harness.sh: a test PKI made with the openssl CLI (a CA, a
# server certificate for localhost and 127.0.0.1, a client certificate) and two
# more stacks: TLS with API keys, and mutual TLS. Exports, for the client tests:
#   AGLEADER_TLS_TARGET   TLS server that needs HARNESS_API_KEY
#   AGLEADER_MTLS_TARGET  mutual-TLS server (caller certificates signed by the CA)
#   AGLEADER_TEST_CA, AGLEADER_TEST_CLIENT_CERT, AGLEADER_TEST_CLIENT_KEY  PEM files
#   AGLEADER_TEST_API_KEY_FILE  a file holding HARNESS_API_KEY (with a comment line)

command -v openssl >/dev/null || {
  echo "FAIL: the openssl CLI is missing: run scripts/setup.sh" >&2
  exit 1
}

make_test_pki() {
  local dir="$1"
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=polyglot test CA" \
    -keyout "${dir}/ca.key" -out "${dir}/ca.pem" 2>/dev/null
  local name
  for name in server client; do
    openssl req -newkey rsa:2048 -nodes -subj "/CN=${name}" \
      -keyout "${dir}/${name}.key" -out "${dir}/${name}.csr" 2>/dev/null
  done
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"${dir}/server.ext"
  printf 'extendedKeyUsage=clientAuth\n' >"${dir}/client.ext"
  for name in server client; do
    openssl x509 -req -in "${dir}/${name}.csr" -CA "${dir}/ca.pem" -CAkey "${dir}/ca.key" \
      -CAcreateserial -days 2 -extfile "${dir}/${name}.ext" -out "${dir}/${name}.pem" 2>/dev/null
  done
}

start_tls_stacks() {
  local pki="${TMP}/pki"
  make_test_pki "$pki"
  start_stack --tls_cert_file="${pki}/server.pem" --tls_key_file="${pki}/server.key" \
    --api_keys="${HARNESS_API_KEY}"
  AGLEADER_TLS_TARGET="${AGLEADER_TARGET}"
  start_stack --tls_cert_file="${pki}/server.pem" --tls_key_file="${pki}/server.key" \
    --client_ca_file="${pki}/ca.pem"
  AGLEADER_MTLS_TARGET="${AGLEADER_TARGET}"
  AGLEADER_TEST_API_KEY_FILE="${pki}/api_key"
  printf '# the polyglot test key\n%s\n' "${HARNESS_API_KEY}" >"${AGLEADER_TEST_API_KEY_FILE}"
  AGLEADER_TEST_CA="${pki}/ca.pem"
  AGLEADER_TEST_CLIENT_CERT="${pki}/client.pem"
  AGLEADER_TEST_CLIENT_KEY="${pki}/client.key"
  export AGLEADER_TLS_TARGET AGLEADER_MTLS_TARGET AGLEADER_TEST_API_KEY_FILE AGLEADER_TEST_CA \
    AGLEADER_TEST_CLIENT_CERT AGLEADER_TEST_CLIENT_KEY
}
