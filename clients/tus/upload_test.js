// tus-js-client in Node: uploads a photo to a running gridops server, chunk by chunk, and
// prints one JSON line for tests/integration/test_tus_clients.py to check.
//   GRIDOPS_URL    the server (http://127.0.0.1:port)
//   GRIDOPS_TOKEN  a bearer token of a user who may upload photos
//   PHOTO_PATH     the photo's file; PHOTO_SHA256 its SHA-256 (hex); PHOTO_TYPE its type
'use strict'

const fs = require('fs')
const path = require('path')
const tus = require('tus-js-client')

const env = (name) => {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set`)
  return value
}

function upload (data, options) {
  return new Promise((resolve, reject) => {
    const chunks = []
    const up = new tus.Upload(data, {
      endpoint: `${env('GRIDOPS_URL')}/api/v1/photos/uploads`,
      headers: { Authorization: `Bearer ${env('GRIDOPS_TOKEN')}` },
      metadata: {
        filename: path.basename(env('PHOTO_PATH')),
        filetype: env('PHOTO_TYPE'),
        sha256: env('PHOTO_SHA256')
      },
      retryDelays: [],
      removeFingerprintOnSuccess: true,
      onChunkComplete: (size, accepted, total) => chunks.push([size, accepted, total]),
      onError: reject,
      onSuccess: () => resolve({ url: up.url, chunks }),
      ...options
    })
    up.start()
  })
}

async function main () {
  const data = fs.readFileSync(env('PHOTO_PATH'))
  const chunkSize = Math.ceil(data.length / 3) // three PATCHes
  const first = await upload(data, { chunkSize })
  // The same photo again: the server already has it, so the upload is done at once.
  const again = await upload(data, { chunkSize })
  // An upload ended by the client (tus termination): the server forgets it.
  const other = Buffer.concat([data.subarray(0, 12), Buffer.from('another photo')])
  let url = null
  await new Promise((resolve, reject) => {
    const up = new tus.Upload(other, {
      endpoint: `${env('GRIDOPS_URL')}/api/v1/photos/uploads`,
      headers: { Authorization: `Bearer ${env('GRIDOPS_TOKEN')}` },
      metadata: { filetype: env('PHOTO_TYPE'), sha256: 'ab'.repeat(32) },
      chunkSize: 12,
      retryDelays: [],
      onChunkComplete: () => { url = up.url; up.abort(true).then(resolve, reject) },
      onError: reject,
      onSuccess: () => reject(new Error('the aborted upload finished'))
    })
    up.start()
  })
  console.log(JSON.stringify({ ok: true, first, again, terminated: url }))
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err)
  process.exit(1)
})
