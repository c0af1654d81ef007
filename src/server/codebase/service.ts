/** The gRPC CodebaseService (protocol: sandbox.v1) and our batch-upload extension over a CodebaseStore. */
import type { Codebase, CodebaseServiceServer, FileInfo } from '../../generated/codebase';
import { toRpcError } from '../rpc/rpcError';
import { unary } from '../rpc/unary';
import { requireField } from '../rpc/requiredField';
import { sendFile } from './downloadHandler';
import type { FileListing } from './fileListing';
import type { CodebaseInfo, CodebaseStore } from './store';
import { receiveUpload } from './uploadHandler';
import { receiveBatch } from './batchUploadHandler';
import type { BatchUploadServiceServer } from '../../generated/batch_upload';

export function createCodebaseService(store: CodebaseStore): CodebaseServiceServer {
  return {
    createCodebase: unary(async ({ name, ownerId }) => {
      requireField(name, 'name');
      // owner_id is optional: the TypeScript client's createCodebase(name) sends none, and
      // an unowned codebase is stored with owner "" (listed when no owner filter is given).
      return toCodebase(await store.createCodebase(name, ownerId));
    }),

    getCodebase: unary(async ({ codebaseId }) =>
      toCodebase(store.getCodebase(requireField(codebaseId, 'codebase_id'))),
    ),

    listCodebases: unary(async ({ ownerId, pageSize, pageToken }) => {
      const page = store.listCodebases({ ownerId, pageSize, pageToken });
      return { codebases: page.codebases.map(toCodebase), nextPageToken: page.nextPageToken };
    }),

    deleteCodebase: unary(async ({ codebaseId }) => {
      await store.deleteCodebase(requireField(codebaseId, 'codebase_id'));
      return {};
    }),

    uploadFiles: (call, callback) => {
      receiveUpload(store, call).then(
        (result) => callback(null, result),
        (err) => callback(toRpcError(err).toServiceError()),
      );
    },

    downloadFile: (call) => {
      sendFile(store, call).catch((err) => {
        if (!call.cancelled && !call.destroyed) call.emit('error', toRpcError(err).toServiceError());
      });
    },

    listFiles: unary(async ({ codebaseId, path, recursive }) => ({
      files: store.listFiles(requireField(codebaseId, 'codebase_id'), path, recursive).map(toFileInfo),
    })),
  };
}

/** Our extension (agentfense.ext.v1): many files per upload call. */
export function createBatchUploadService(store: CodebaseStore): BatchUploadServiceServer {
  return { uploadBatch: (call) => receiveBatch(store, call) };
}

function toCodebase(info: CodebaseInfo): Codebase {
  return { ...info };
}

function toFileInfo(f: FileListing): FileInfo {
  return { path: f.path, name: f.name, isDir: f.isDir, size: f.size, modifiedAt: new Date(f.modifiedAtMs) };
}
