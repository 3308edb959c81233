import { join } from "node:path";
import type { S3Bucket } from "../../dev/seaweedfs.ts";
import { S3MediaStorage } from "../../storage/index.ts";

/** The S3 driver on a test bucket, as the api would open it, under `prefix` ("" or ending in "/"). */
export const s3StorageFor = (bucket: S3Bucket, prefix: string, scratch: string) =>
  new S3MediaStorage({
    bucket: bucket.bucket,
    prefix,
    endpoint: bucket.endpoint,
    publicEndpoint: bucket.endpoint,
    region: bucket.region,
    accessKeyId: bucket.accessKeyId,
    secretAccessKey: bucket.secretAccessKey,
    forcePathStyle: true,
    scratchRoot: join(scratch, "s3-scratch"),
  });
