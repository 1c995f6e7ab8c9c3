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

for (const [from, to] of FILES) {
  const target = path.join(__dirname, 'bundle', to);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(path.join(REPO, from), target);
}
