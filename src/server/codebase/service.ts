/** The gRPC CodebaseService (protocol: sandbox.v1) and our batch-upload extension over a CodebaseStore. */
import type { Codebase, CodebaseServiceServer, FileInfo } from '../../generated/codebase';
import { invalidArgument, toRpcError } from '../rpc/rpcError';
import { unary } from '../rpc/unary';
import { sendFile } from './downloadHandler';
import type { FileListing } from './fileListing';
import type { CodebaseInfo, CodebaseStore } from './store';
import { receiveUpload } from './uploadHandler';
import { receiveBatch } from './batchUploadHandler';
import type { BatchUploadServiceServer } from '../../generated/batch_upload';

export function createCodebaseService(store: CodebaseStore): CodebaseServiceServer {
  return {
    createCodebase: unary(async ({ name, ownerId }) => {
      if (!name) throw invalidArgument('name is required');
      // owner_id is optional: the TypeScript client's createCodebase(name) sends none, and
      // an unowned codebase is stored with owner "" (listed when no owner filter is given).
      return toCodebase(await store.createCodebase(name, ownerId));
    }),

    getCodebase: unary(async ({ codebaseId }) => toCodebase(store.getCodebase(requireId(codebaseId)))),

    listCodebases: unary(async ({ ownerId, pageSize, pageToken }) => {
      const page = store.listCodebases({ ownerId, pageSize, pageToken });
      return { codebases: page.codebases.map(toCodebase), nextPageToken: page.nextPageToken };
    }),

    deleteCodebase: unary(async ({ codebaseId }) => {
      await store.deleteCodebase(requireId(codebaseId));
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
      files: store.listFiles(requireId(codebaseId), path, recursive).map(toFileInfo),
    })),
  };
}

/** Our extension (agentfense.ext.v1): many files per upload call. */
export function createBatchUploadService(store: CodebaseStore): BatchUploadServiceServer {
  return { uploadBatch: (call) => receiveBatch(store, call) };
}

function requireId(codebaseId: string): string {
  if (!codebaseId) throw invalidArgument('codebase_id is required');
  return codebaseId;
}

function toCodebase(info: CodebaseInfo): Codebase {
  return { ...info };
}

function toFileInfo(f: FileListing): FileInfo {
  return { path: f.path, name: f.name, isDir: f.isDir, size: f.size, modifiedAt: new Date(f.modifiedAtMs) };
}
