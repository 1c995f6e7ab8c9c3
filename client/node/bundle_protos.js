'use strict';
// npm's prepack step: copies the .proto files and the service config from the
// repository into bundle/, so that the packed tarball carries them (npm pack
// leaves symlinks out). The library prefers bundle/ and falls back to the
// repository's files in a checkout.

const fs = require('fs');
const path = require('path');

const REPO = path.resolve(__dirname, '..', '..');
const FILES = [
  ['proto/leaf/agleader/v1/agleader_credentials.proto', 'leaf/agleader/v1/agleader_credentials.proto'],
  ['third_party/googleapis/google/rpc/status.proto', 'google/rpc/status.proto'],
  ['third_party/googleapis/google/rpc/error_details.proto', 'google/rpc/error_details.proto'],
  ['third_party/googleapis/google/rpc/code.proto', 'google/rpc/code.proto'],
  ['client/service_config.json', 'service_config.json'],
];

// Well-known types the service proto imports (CreateConnectLinkRequest.ttl is a
// google.protobuf.Duration), from the system's protobuf; where it is missing,
// protobufjs' built-in copies of these same files serve.
const WELL_KNOWN = ['any', 'duration', 'empty', 'timestamp'].map((name) => [
  `/usr/include/google/protobuf/${name}.proto`,
  `google/protobuf/${name}.proto`,
]);

for (const [from, to] of FILES) {
  const target = path.join(__dirname, 'bundle', to);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(path.join(REPO, from), target);
}
for (const [from, to] of WELL_KNOWN) {
  if (!fs.existsSync(from)) continue;
  const target = path.join(__dirname, 'bundle', to);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(from, target);
}
