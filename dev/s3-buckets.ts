// Bucket-level S3 requests (CreateBucket, DeleteBucket) that Bun's S3Client does not offer, as it works on
// the objects of one bucket (bucketClient). Signed with AWS Signature Version 4 in headers, path-style, so they are real
// signed requests to any S3-compatible server (SeaweedFS, MinIO, Garage, AWS itself).
import { createHash, createHmac } from "node:crypto";
import { S3Client } from "bun";

export interface S3Credentials {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** Bun's client for the objects of one bucket, path-style. */
export function bucketClient(credentials: S3Credentials, bucket: string): S3Client {
  const { endpoint, region, accessKeyId, secretAccessKey } = credentials;
  return new S3Client({ endpoint, region, accessKeyId, secretAccessKey, bucket });
}

const sha256 = (data: string) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();

/**
 * A path-style request to `<endpoint>/<bucket>` with SigV4 headers; `query` is a canonical query
 * string (sorted, encoded: `uploads=` lists the bucket's unfinished multipart uploads).
 */
export function signedBucketRequest(
  credentials: S3Credentials,
  method: "GET" | "PUT" | "DELETE" | "HEAD",
  bucket: string,
  body = "",
  now = new Date(),
  query = "",
): Request {
  const url = new URL(`${credentials.endpoint.replace(/\/$/, "")}/${encodeURIComponent(bucket)}`);
  if (query) url.search = `?${query}`;
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256(body);
  const headers: Record<string, string> = {
    host: url.host,
    "x-amz-content-sha256": payloadHash,
    "x-amz-date": amzDate,
  };
  const signedHeaders = Object.keys(headers).sort().join(";");
  const canonicalHeaders = Object.keys(headers)
    .sort()
    .map((name) => `${name}:${headers[name]}\n`)
    .join("");
  const canonicalRequest = [method, url.pathname, query, canonicalHeaders, signedHeaders, payloadHash].join(
    "\n",
  );
  const scope = `${day}/${credentials.region}/s3/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonicalRequest)].join("\n");
  const signingKey = ["s3", "aws4_request"].reduce(
    (key, part) => hmac(key, part),
    hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), credentials.region),
  );
  const signature = createHmac("sha256", signingKey).update(stringToSign).digest("hex");
  const { host: _host, ...sent } = headers;
  return new Request(url, {
    method,
    headers: {
      ...sent,
      authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    },
    ...(body ? { body } : {}),
  });
}

/** An S3 error answer: `status` tells a refusal (4xx: keys, name, policy) from a server not ready yet. */
export class S3RequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

async function send(request: Request, what: string, accept: (status: number, body: string) => boolean) {
  const response = await fetch(request);
  const body = await response.text();
  if (!accept(response.status, body)) {
    const code = /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
    throw new S3RequestError(
      `${what}: ${response.status}${code ? ` ${code}` : ""} from ${request.url}`,
      response.status,
    );
  }
}

/** CreateBucket; a bucket these keys already own is fine (a restarted local stack finds its own). */
export async function createBucket(credentials: S3Credentials, bucket: string): Promise<void> {
  // Outside us-east-1, AWS wants the region named in the body; the others ignore it.
  const body =
    credentials.region === "us-east-1"
      ? ""
      : `<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>${credentials.region}</LocationConstraint></CreateBucketConfiguration>`;
  await send(
    signedBucketRequest(credentials, "PUT", bucket, body),
    `creating bucket ${bucket}`,
    (status, text) => status === 200 || (status === 409 && text.includes("BucketAlreadyOwnedByYou")),
  );
}

/** DeleteBucket (it must be empty); one that is already gone is fine. */
export async function deleteBucket(credentials: S3Credentials, bucket: string): Promise<void> {
  await send(
    signedBucketRequest(credentials, "DELETE", bucket),
    `deleting bucket ${bucket}`,
    (status) => status === 204 || status === 200 || status === 404,
  );
}
