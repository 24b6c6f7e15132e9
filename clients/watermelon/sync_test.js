'use strict'
// WatermelonDB's own synchronize() (LokiJS in memory, no Babel) against a running gridops
// server, through: a first sync; offline operations made as local records (and a forbidden
// local edit of a server-owned record); a push whose answer is lost; a case leaving the
// user's scope; incremental pulls; and a start over that keeps the phone's unsent work.
//
//   GRIDOPS_URL=http://127.0.0.1:5000 GRIDOPS_PASSWORD=... node sync_test.js
//
// Optional: GRIDOPS_USER (d1.handler), GRIDOPS_DISPATCHER (t1.dispatcher),
// GRIDOPS_OTHER_UNIT (D1-CGZF: where the dispatcher sends one case away).
// Exits 1 with "FAILED: ..." on the first unmet expectation; on success prints one JSON line
// ({"ok": true, ...}) that the pytest test reads.

const crypto = require('crypto')
const { Database, Model } = require('@nozbe/watermelondb')
const LokiJSAdapter = require('@nozbe/watermelondb/adapters/lokijs').default
const { synchronize } = require('@nozbe/watermelondb/sync')
const { hasUnsyncedChanges } = require('@nozbe/watermelondb/sync')
const { schema, READ_ONLY_TABLES, OPERATIONS } = require('./schema')

const URL_ = (process.env.GRIDOPS_URL || '').replace(/\/$/, '')
const PASSWORD = process.env.GRIDOPS_PASSWORD
const USER = process.env.GRIDOPS_USER || 'd1.handler'
const DISPATCHER = process.env.GRIDOPS_DISPATCHER || 't1.dispatcher'
const OTHER_UNIT = process.env.GRIDOPS_OTHER_UNIT || 'D1-CGZF'
const DEVICE_ID = crypto.randomUUID()

class Failure extends Error {}
function expect(condition, message) {
  if (!condition) throw new Failure(message)
}
const eq = (actual, wanted, what) =>
  expect(JSON.stringify(actual) === JSON.stringify(wanted),
    `${what}: expected ${JSON.stringify(wanted)}, got ${JSON.stringify(actual)}`)

// Models without decorators: fields are read with _getRaw.
const models = Object.keys(READ_ONLY_TABLES).concat(['operations']).map((table) => {
  const cls = class extends Model {
    static table = table
    get(name) { return this._getRaw(name) }
  }
  Object.defineProperty(cls, 'name', { value: `Model_${table}` })
  return cls
})

const database = new Database({
  adapter: new LokiJSAdapter({ schema, useWebWorker: false, useIncrementalIndexedDB: false,
    extraLokiOptions: { autosave: false } }),
  modelClasses: models,
})

async function http(method, path, { token, body } = {}) {
  const response = await fetch(`${URL_}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json',
      ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  let json = null
  try { json = JSON.parse(text) } catch (e) { /* not JSON */ }
  return { status: response.status, json, text }
}

async function login(username, deviceId) {
  const body = { username, password: PASSWORD }
  if (deviceId) Object.assign(body, { device_id: deviceId, device_name: 'node synchronize()' })
  const answer = await http('POST', '/api/v1/auth/login', { body })
  eq(answer.status, 201, `sign-in of ${username} (${answer.text})`)
  return answer.json.token
}

// --- the sync functions an app would write ------------------------------------------------

const pulls = []
const pushes = []

function pullChanges(token) {
  return async ({ lastPulledAt, schemaVersion, migration }) => {
    const answer = await http('POST', '/api/v1/sync/watermelon/pull',
      { token, body: { lastPulledAt, schemaVersion, migration } })
    if (answer.status !== 200) throw new Failure(`pull answered ${answer.status}: ${answer.text}`)
    const { changes, timestamp } = answer.json
    expect(Number.isSafeInteger(timestamp) && timestamp > 0, `timestamp ${timestamp} not a safe integer`)
    for (const [table, kinds] of Object.entries(changes)) {
      expect(table in READ_ONLY_TABLES, `the server sent a table the app does not declare: ` +
        `${table} (declare it in clients/watermelon/schema.js and docs/sync.md, "The client schema")`)
      for (const kind of ['created', 'updated', 'deleted']) {
        expect(Array.isArray(kinds[kind]), `${table}.${kind} is not an array`)
      }
      const columns = new Set(READ_ONLY_TABLES[table].map((c) => c.name))
      for (const record of kinds.created.concat(kinds.updated)) {
        expect(typeof record.id === 'string', `${table} record without a string id`)
        for (const key of Object.keys(record)) {
          expect(key === 'id' || columns.has(key), `${table}.${key} is not in the client ` +
            'schema (clients/watermelon/schema.js and docs/sync.md, "The client schema")')
        }
      }
      for (const id of kinds.deleted) expect(typeof id === 'string', `${table}: deleted id not a string`)
    }
    pulls.push({ lastPulledAt, ...answer.json })
    return answer.json
  }
}

function pushChanges(token, { loseAnswer = false } = {}) {
  return async ({ changes, lastPulledAt }) => {
    const answer = await http('POST', '/api/v1/sync/watermelon/push',
      { token, body: { changes, lastPulledAt, sentAt: new Date().toISOString() } })
    if (answer.status !== 200) throw new Failure(`push answered ${answer.status}: ${answer.text}`)
    pushes.push({ lost: loseAnswer, changes, answer: answer.json })
    if (loseAnswer) throw new Error('LOST_ANSWER: the connection broke before the answer arrived')
    return answer.json
  }
}

async function sync(token, options = {}) {
  let more = true
  let rounds = 0
  const extras = []
  while (more) {
    more = false
    rounds += 1
    expect(rounds < 50, 'has_more never became false')
    await synchronize({
      database,
      pullChanges: pullChanges(token),
      pushChanges: pushChanges(token, options),
      onDidPullChanges: (rest) => { extras.push(rest); more = rest.has_more === true },
    })
  }
  return extras
}

// On PostgreSQL a change is pulled once every transaction that began before it has ended
// (docs/sync.md, "How the server keeps the feed"): with other work on the cluster it may
// come one pull later. A phone syncs again; so does this test, a bounded number of times.
const extraSyncs = []
async function syncUntil(token, done, what, seconds = 30) {
  const deadline = Date.now() + seconds * 1000
  let more = 0
  while (!(await done())) {
    expect(Date.now() < deadline, `${what}: not after ${more} more syncs in ${seconds} s`)
    await new Promise((resolve) => setTimeout(resolve, 200))
    await sync(token)
    more += 1
  }
  extraSyncs.push([what, more])
}

// --- local reads and writes ---------------------------------------------------------------

const all = async (table) => database.get(table).query().fetch()
const ids = async (table) => (await all(table)).map((r) => r.id).sort()
const find = async (table, id) => {
  try { return await database.get(table).find(id) } catch (e) { return null }
}

let seq = 0
async function makeOperation(name, args, baseVersion) {
  const id = crypto.randomUUID()
  seq += 1
  const mySeq = seq
  await database.write(async () => {
    await database.get('operations').create((op) => {
      op._raw.id = id // the operation's UUID: the key of exactly-once
      op._setRaw('name', name)
      op._setRaw('args', JSON.stringify(args))
      op._setRaw('base_version', baseVersion === undefined ? null : baseVersion)
      op._setRaw('device_seq', mySeq)
      op._setRaw('device_time', new Date().toISOString())
    })
  })
  return { id, name, seq: mySeq }
}

const statusOf = async (table, id) => (await database.get(table).find(id))._raw._status

// --- the scenario -------------------------------------------------------------------------

async function main() {
  expect(URL_ && PASSWORD, 'set GRIDOPS_URL and GRIDOPS_PASSWORD')
  eq(OPERATIONS.map((c) => c.name), ['name', 'args', 'base_version', 'device_seq', 'device_time'],
    'operations columns')
  const token = await login(USER, DEVICE_ID)
  const dispatcher = await login(DISPATCHER)
  const timings = {}
  const begun = Date.now()
  let started = begun

  // 1. First sync: lastPulledAt is null; everything of the scope arrives.
  const first = await sync(token)
  timings.first_sync_ms = Date.now() - started
  eq(pulls[0].lastPulledAt, null, 'first pull sends lastPulledAt')
  const cases = await all('cases')
  eq(cases.length, 2, 'cases after the first sync')
  const [caseA, caseB] = cases.sort((x, y) => x.get('title').localeCompare(y.get('title')))
  eq((await all('case_events')).length, 4, 'case events after the first sync')
  const units = await all('units')
  const other = units.find((u) => u.get('code') === OTHER_UNIT)
  expect(other, `unit ${OTHER_UNIT} not among the ${units.length} units pulled`)
  expect((await all('catalogue_items')).length > 0, 'no catalogue items pulled')
  expect(typeof caseA.get('updated_at') === 'number', 'cases.updated_at is not a number')
  expect(Array.isArray(JSON.parse(caseA.get('allowed_actions'))), 'allowed_actions not JSON')
  expect(!first.some((x) => x.start_over), 'a first sync is not a start over')
  const serverTitle = caseA.get('title')

  // 2. Offline: operations are local records; plus an app bug editing a server record.
  const ops = [
    await makeOperation('accept_case', { case_id: caseA.id }, caseA.get('version')),
    await makeOperation('add_note', { case_id: caseA.id, note: '到现场前电话联系' }, caseA.get('version')),
    await makeOperation('record_contact', { case_id: caseA.id, note: '已联系居民' }, caseA.get('version')),
    await makeOperation('accept_case', { case_id: caseB.id }, caseB.get('version')),
  ]
  await database.write(async () => {
    await caseA.update((c) => { c._setRaw('title', 'EDITED ON THE PHONE') })
  })

  // 3. A push whose answer is lost: synchronize() fails, the records stay dirty.
  let lost = null
  try {
    await sync(token, { loseAnswer: true })
  } catch (error) {
    lost = error
  }
  expect(lost && /LOST_ANSWER/.test(String(lost.message)),
    `the sync with a lost answer should fail with LOST_ANSWER, got ${lost}`)
  const lostPush = pushes[pushes.length - 1]
  eq(lostPush.answer.results.map((r) => [r.id, r.status, r.code]),
    ops.map((o) => [o.id, 'applied', null]),
    'the lost push applied each operation (the phone never saw it)')
  eq(lostPush.answer.ignored.map((i) => [i.table, i.id, i.reason, i.heal]),
    [['cases', caseA.id, 'read_only', 'resend']], 'the local edit of a case is ignored')
  for (const op of ops) eq(await statusOf('operations', op.id), 'created', `op ${op.seq} still dirty`)

  // 4. Meanwhile the dispatcher sends case B to another unit: it leaves the user's scope.
  const current = await http('GET', `/api/v1/cases/${caseB.id}`, { token: dispatcher })
  eq(current.status, 200, 'the dispatcher reads case B')
  const moved = await http('POST', `/api/v1/cases/${caseB.id}/dispatch`, { token: dispatcher,
    body: { version: current.json.version, lead_unit_id: other.id, note: '改派城管' } })
  eq(moved.status, 200, `re-dispatch of case B (${moved.text})`)
  // ... and the phone, still offline, reports case B done: too late, it is not theirs.
  const late = await makeOperation('complete_task', { case_id: caseB.id, result: '已清理' },
    caseB.get('version'))

  // 5. Sync again: the pull brings the effects of the lost push and takes case B away; the
  //    retried push applies nothing twice.
  const heldOfB = (await all('case_events')).filter((e) => e.get('case_id') === caseB.id)
    .map((e) => e.id).sort()
  const pullsBefore = pulls.length
  const pushesBefore = pushes.length
  started = Date.now()
  await sync(token)
  timings.retry_sync_ms = Date.now() - started
  const retry = pushes[pushesBefore]
  eq(retry.answer.results.map((r) => [r.id, r.status, r.original_status]),
    ops.map((o) => [o.id, 'duplicate', 'applied']).concat([[late.id, 'rejected', null]]),
    'the retried push')
  expect(['case_reassigned', 'case_not_found', 'case_not_accepted'].includes(retry.answer.results[4].code),
    `complete_task after re-dispatch rejected with ${retry.answer.results[4].code}`)
  for (const op of ops.concat([late])) {
    eq(await statusOf('operations', op.id), 'synced', `op ${op.seq} synced`)
  }
  await syncUntil(token, async () => !(await find('cases', caseB.id)), 'case B leaves the phone')
  const deleted = (table) => pulls.slice(pullsBefore).flatMap((p) => p.changes[table].deleted).sort()
  eq(deleted('cases'), [caseB.id], 'case B is deleted by a pull, once')
  eq(deleted('case_events'), heldOfB, "case B's events go with it")
  eq(await ids('cases'), [caseA.id], 'cases after case B left')
  const eventsA = (await all('case_events')).map((e) => e.get('case_id'))
  expect(eventsA.every((c) => c === caseA.id), 'no event of case B is left')
  await syncUntil(token, async () => (await all('case_events')).length === 5,
    "the effects of the lost push reach the phone")
  const actions = (await all('case_events')).map((e) => e.get('action')).sort()
  eq(actions, ['accept', 'contact', 'dispatch', 'note', 'received'], 'case A timeline (once each)')
  eq((await database.get('cases').find(caseA.id)).get('status'), 'in_progress', 'case A status')

  // 6. Incremental pulls: the rejection arrives, the edited case is repaired.
  const beforeSecond = pulls.length
  started = Date.now()
  await sync(token)
  timings.incremental_sync_ms = Date.now() - started
  expect(pulls[beforeSecond].lastPulledAt === pulls[beforeSecond - 1].timestamp,
    'the incremental pull sends the last timestamp')
  await syncUntil(token, async () => (await all('rejected_operations')).length > 0 &&
    (await database.get('cases').find(caseA.id)).get('title') === serverTitle,
  'the rejection arrives and the edited case is repaired')
  const rejected = await all('rejected_operations')
  eq(rejected.map((r) => [r.id, r.get('name'), r.get('device_seq')]),
    [[late.id, 'complete_task', late.seq]], 'rejected operations on the phone')
  expect(rejected[0].get('message').length > 0, 'a rejection has a message for the worker')
  expect(!(await hasUnsyncedChanges({ database })), 'nothing left to push')

  // 7. Start over (the server was restored from a backup: the phone's cursor is from the
  //    future) with unsent work on the phone: server records replaced, the queue kept.
  const unsent = await makeOperation('add_note', { case_id: caseA.id, note: '恢复后补记' })
  const future = pulls[pulls.length - 1].timestamp + 1000000
  await database.adapter.setLocal('__watermelon_last_pulled_at', String(future))
  const junk = crypto.randomUUID()
  await database.write(async () => {
    await database.get('units').create((u) => {
      u._raw.id = junk
      u._setRaw('code', 'JUNK'); u._setRaw('name', 'made up'); u._setRaw('kind', 'community')
    })
  })
  // The junk unit is pushed (ignored, healed) in this sync; the start over happens first.
  const restart = await sync(token)
  expect(restart[0].start_over === true && restart[0].start_over_reason === 'cursor_from_the_future',
    `expected a start over, got ${JSON.stringify(restart[0])}`)
  eq(restart[0].experimentalStrategy, 'replacement', 'start over strategy')
  eq(await ids('cases'), [caseA.id], 'cases after the start over')
  eq((await all('rejected_operations')).length, 1, 'rejected operations after the start over')
  eq((await all('operations')).length, ops.length + 2, 'the phone keeps its whole queue')
  const lastPush = pushes[pushes.length - 1]
  eq(lastPush.answer.results.map((r) => [r.id, r.status]), [[unsent.id, 'applied']],
    'the unsent operation is pushed after the start over')
  eq(lastPush.answer.ignored.map((i) => [i.table, i.heal]), [['units', 'remove']],
    'the made-up unit')
  await syncUntil(token, async () => !(await find('units', junk)),
    'the made-up unit is removed by a later pull')

  timings.scenario_ms = Date.now() - begun
  const operationIds = ops.concat([late, unsent]).map((o) => o.id)
  console.log(JSON.stringify({ ok: true, device_id: DEVICE_ID, case_a: caseA.id,
    case_b: caseB.id, applied: ops.concat([unsent]).map((o) => o.id), rejected: [late.id],
    operations: operationIds, pulls: pulls.length, pushes: pushes.length, timings,
    extra_syncs: extraSyncs }))
}

main().then(() => process.exit(0), (error) => {
  const kind = error instanceof Failure ? 'FAILED' : 'ERROR'
  console.error(`${kind}: ${error && error.stack ? error.stack : error}`)
  process.exit(1)
})
