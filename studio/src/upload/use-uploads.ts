// The upload panel's state: the files added in this visit (one UploadTask each, in the order added) and
// the unfinished uploads an earlier visit left in this browser (tus-js-client's localStorage entries),
// which resume when the same file is chosen again, or can be discarded (their bytes removed).
import { useCallback, useEffect, useRef, useState } from "react";
import * as tus from "tus-js-client";
import { type ApiClient, csrfToken } from "../api/http.ts";
import { UPLOADS_ENDPOINT, type UploadSnapshot, UploadTask, type VideoDetails } from "./upload-task.ts";

export interface UploadEntry {
  key: string;
  task: UploadTask;
  snapshot: UploadSnapshot;
}

export interface UnfinishedUpload {
  storageKey: string;
  uploadUrl: string;
  fileName: string;
  title: string;
  size: number | null;
  startedAt: string;
}

/** "My clip.final.mp4" → "My clip.final": the title a file gets until someone types another. */
export const titleFromFileName = (name: string) => name.replace(/\.[^.]+$/, "").trim() || name;

let nextKey = 0;

export function useUploads(api: ApiClient, defaultCategory: string, maxBytes: number | null) {
  const [entries, setEntries] = useState<UploadEntry[]>([]);
  const [unfinished, setUnfinished] = useState<UnfinishedUpload[]>([]);
  const fingerprints = useRef(new Set<string>());

  const readUnfinished = useCallback(async () => {
    if (!tus.canStoreURLs) return;
    const stored = await tus.defaultOptions.urlStorage.findAllUploads();
    const inThisVisit = [...fingerprints.current];
    setUnfinished(
      stored
        .filter((upload) => upload.uploadUrl !== null)
        .filter((upload) => !inThisVisit.some((print) => upload.urlStorageKey.startsWith(`tus::${print}::`)))
        .map((upload) => ({
          storageKey: upload.urlStorageKey,
          uploadUrl: upload.uploadUrl!,
          fileName: upload.metadata.filename ?? "a file",
          title: upload.metadata.title ?? "",
          size: upload.size,
          startedAt: upload.creationTime,
        }))
        .sort((a, b) => b.startedAt.localeCompare(a.startedAt)),
    );
  }, []);

  useEffect(() => {
    void readUnfinished();
  }, [readUnfinished]);

  const addFiles = useCallback(
    (files: Iterable<File>) => {
      for (const file of files) {
        const key = `upload-${nextKey++}`;
        const details: VideoDetails = {
          title: titleFromFileName(file.name),
          description: "",
          category: defaultCategory,
        };
        const task = new UploadTask(
          file,
          details,
          api,
          (snapshot) =>
            setEntries((current) =>
              current.map((entry) => (entry.key === key ? { ...entry, snapshot } : entry)),
            ),
          maxBytes,
        );
        setEntries((current) => [...current, { key, task, snapshot: task.current }]);
        void tus.defaultOptions
          .fingerprint(file, { endpoint: UPLOADS_ENDPOINT })
          .then((print) => {
            fingerprints.current.add(print);
            return task.findPrevious();
          })
          .then(readUnfinished);
      }
    },
    [api, defaultCategory, maxBytes, readUnfinished],
  );

  // Files added before the categories arrived get the default too, unless someone typed one meanwhile.
  const live = useRef(entries);
  live.current = entries;
  useEffect(() => {
    if (defaultCategory === "") return;
    for (const { task } of live.current) {
      const { phase, details } = task.current;
      if (phase === "ready" && details.category === "")
        task.editDetails({ ...details, category: defaultCategory });
    }
  }, [defaultCategory]);

  /** Takes a finished, refused or cancelled file off the list. */
  const dismiss = useCallback((key: string) => {
    setEntries((current) => current.filter((entry) => entry.key !== key));
  }, []);

  /** Terminates an unfinished upload of an earlier visit (DELETE) and forgets it. */
  const discard = useCallback(
    async (upload: UnfinishedUpload) => {
      try {
        await tus.Upload.terminate(upload.uploadUrl, {
          onBeforeRequest: (request) => {
            const csrf = csrfToken();
            if (csrf) request.setHeader("X-CSRFToken", csrf);
          },
        });
      } catch {
        // Gone already (expired, or finished elsewhere): forgetting it is all that is left to do.
      }
      await tus.defaultOptions.urlStorage.removeUpload(upload.storageKey);
      await readUnfinished();
    },
    [readUnfinished],
  );

  // The browser says the network is back: uploads that gave up on it go on by themselves.
  useEffect(() => {
    const online = () => {
      for (const entry of live.current) if (entry.task.current.phase === "offline") entry.task.resume();
    };
    window.addEventListener("online", online);
    return () => window.removeEventListener("online", online);
  }, []);

  // Leaving the page stops the transfers: the browser asks first while any is under way.
  const transferring = entries.some((entry) =>
    ["uploading", "retrying", "finishing"].includes(entry.snapshot.phase),
  );
  useEffect(() => {
    if (!transferring) return;
    const leaving = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener("beforeunload", leaving);
    return () => window.removeEventListener("beforeunload", leaving);
  }, [transferring]);

  // Stop every transfer when the panel goes (the uploads stay resumable from their fingerprints).
  useEffect(
    () => () => {
      for (const entry of live.current) entry.task.pause();
    },
    [],
  );

  return { entries, unfinished, addFiles, dismiss, discard, refreshUnfinished: readUnfinished };
}
