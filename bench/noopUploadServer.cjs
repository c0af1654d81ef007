// The floor for uploads: a grpc-js server whose UploadFiles and UploadBatch read every chunk
// and answer at once, storing nothing. The upload scenario sends the same files to it
// through the same client library (so through UploadBatch, as to our server), so the gap to
// our server is what storing them costs. Its own process, like our server, so client and
// server get a core each. Plain CommonJS: messages are not decoded beyond telling a metadata
// chunk (field 1) from a data chunk, and an empty UploadResult is valid protobuf.
//   node noopUploadServer.cjs unix:/path/to.sock    prints "listening" once bound
'use strict';
const grpc = require('@grpc/grpc-js');

const identity = (b) => b;
const raw = (path, responseStream) => ({
  path,
  requestStream: true,
  responseStream,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});
const METADATA_TAG = 0x0a; // field 1, length-delimited

const server = new grpc.Server();
server.addService(
  { uploadFiles: raw('/sandbox.v1.CodebaseService/UploadFiles', false) },
  {
    uploadFiles(call, callback) {
      call.on('data', () => {});
      call.on('end', () => callback(null, Buffer.alloc(0)));
    },
  },
);
server.addService(
  { uploadBatch: raw('/agentfense.ext.v1.BatchUploadService/UploadBatch', true) },
  {
    uploadBatch(call) {
      // A file is answered when the next one starts, or when the call ends.
      let open = false;
      call.on('data', (chunk) => {
        if (chunk[0] !== METADATA_TAG) return;
        if (open) call.write(Buffer.alloc(0));
        open = true;
      });
      call.on('end', () => {
        if (open) call.write(Buffer.alloc(0));
        call.end();
      });
    },
  },
);
server.bindAsync(process.argv[2], grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    console.error(err.message);
    process.exit(1);
  }
  console.log('listening');
});
process.on('SIGTERM', () => server.forceShutdown());
