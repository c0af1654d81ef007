/**
 * How big each scenario runs. Full = the sizes the goals are stated for; quick = a smoke
 * run of every scenario at tiny sizes (CI runs it so the code cannot rot; its figures are
 * not meant to be compared with the goals).
 */
export interface Sizes {
  /** The shared "realistic codebase" fixture. */
  codebaseFiles: number;
  codebaseBytes: number;
  execLatencyCalls: number;
  execWarmupCalls: number;
  throughputConcurrency: number;
  throughputMs: number;
  createStartRepeats: number;
  fsRead1kLoops: number;
  fsRead1mLoops: number;
  fsWriteFiles: number;
  /** Passes of each loop inside one probe run (median kept). */
  fsPasses: number;
  /** Repetitions of each in-process file-system measurement; the median is reported. */
  fsRepeats: number;
  uploadFiles: number;
  uploadBytes: number;
  /** Parallel UploadFiles calls, as the client library does. */
  uploadConcurrency: number;
  changeFiles: number;
  changeRepeats: number;
  concurrentSandboxes: number;
  concurrentSandboxFiles: number;
  concurrentSleepSeconds: number;
  activationRepeats: number;
}

export const FULL: Sizes = {
  codebaseFiles: 10_000,
  codebaseBytes: 100 * 1024 * 1024,
  execLatencyCalls: 1000,
  execWarmupCalls: 20,
  throughputConcurrency: 8,
  throughputMs: 10_000,
  createStartRepeats: 50,
  fsRead1kLoops: 20_000,
  fsRead1mLoops: 1000,
  fsWriteFiles: 1000,
  fsPasses: 9,
  // Single probe runs swing ±15 % here when other work runs; 11 medians resolve a 5 % goal.
  fsRepeats: 11,
  uploadFiles: 10_000,
  uploadBytes: 100 * 1024 * 1024,
  uploadConcurrency: 16,
  changeFiles: 10,
  changeRepeats: 20,
  concurrentSandboxes: 120,
  concurrentSandboxFiles: 1000,
  concurrentSleepSeconds: 3,
  activationRepeats: 10,
};

export const QUICK: Sizes = {
  codebaseFiles: 200,
  codebaseBytes: 1024 * 1024,
  execLatencyCalls: 30,
  execWarmupCalls: 3,
  throughputConcurrency: 8,
  throughputMs: 1000,
  createStartRepeats: 5,
  fsRead1kLoops: 50,
  fsRead1mLoops: 5,
  fsPasses: 1,
  fsWriteFiles: 20,
  fsRepeats: 1,
  uploadFiles: 200,
  uploadBytes: 1024 * 1024,
  uploadConcurrency: 16,
  changeFiles: 10,
  changeRepeats: 3,
  concurrentSandboxes: 8,
  concurrentSandboxFiles: 50,
  concurrentSleepSeconds: 1,
  activationRepeats: 2,
};
