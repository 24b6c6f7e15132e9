'use strict'
// The WatermelonDB schema a phone declares to sync with gridops (docs/sync.md, "WatermelonDB").
// Every table but `operations` is owned by the server: read-only on the phone (never edit or
// delete its records; the server ignores such changes and repairs them on the next pull).
// Lists and objects arrive as JSON strings (declare them `string`, read them with @json);
// created_at / updated_at arrive as numbers (ms since 1970, UTC), as WatermelonDB requires;
// other times are ISO 8601 strings.
const { appSchema, tableSchema } = require('@nozbe/watermelondb')

const s = (name, extra = {}) => ({ name, type: 'string', ...extra })
const so = (name, extra = {}) => ({ name, type: 'string', isOptional: true, ...extra })
const n = (name) => ({ name, type: 'number' })
const no = (name) => ({ name, type: 'number', isOptional: true })
const b = (name) => ({ name, type: 'boolean' })
const bo = (name) => ({ name, type: 'boolean', isOptional: true })

const READ_ONLY_TABLES = {
  units: [s('code'), s('name'), s('kind'), so('parent_id', { isIndexed: true }),
    no('population'), so('department_kind')],
  grids: [s('code'), s('name'), s('kind'), s('township_id'), so('community_id'),
    so('owner_unit_id'), no('area_m2'), s('bbox'), s('boundary'), n('created_at')],
  catalogue_items: [s('code'), so('parent_code'), s('name'), so('description'), so('lead'),
    s('cooperating'), no('response_limit_hours'), no('completion_limit_hours'), b('returnable'),
    n('updated_at')],
  cases: [s('number'), s('channel'), s('appeal_type'), s('urgency'), s('status'),
    so('category_code'), s('title'), so('description'), n('version'), so('address'), no('lon'),
    no('lat'), so('input_crs'), so('basic_grid_id'), so('basic_grid_code'),
    s('special_grid_codes'), so('township_id'), so('district_id'), so('lead_unit_id'),
    s('cooperating_unit_ids'), b('confidential'), s('attachments'), b('needs_triage'),
    so('triage_reason'), s('received_at'), so('dispatched_at'), so('response_due_at'),
    so('completion_due_at'), so('responded_at'), so('completed_at'), so('closed_at'),
    so('result'), bo('resolved'), so('satisfaction'), n('rehandle_count'),
    so('extension_state'), so('exemption_state'), so('master_case_id'), n('event_count'),
    n('updated_at'), s('allowed_actions'), s('resident_view'), so('resident_name'),
    so('resident_phone')],
  case_events: [s('case_id', { isIndexed: true }), n('seq'), s('at'), s('action'),
    so('from_status'), so('to_status'), so('actor_username'), s('actor_roles'),
    so('actor_unit_id'), s('data')],
  whistle_calls: [s('kind'), s('urgency'), s('status'), so('category_code'), s('description'),
    n('version'), n('lon'), n('lat'), so('address'), s('grid_id'), s('grid_code'),
    s('township_id'), so('district_id'), so('lead_unit_id'), s('raised_by_user_id'),
    so('raised_by_department_id'), no('arrival_radius_m'), so('rejection_reason'), so('result'), n('event_count'),
    s('raised_at'), so('judged_at'), so('arrival_due_at'), so('completion_due_at'),
    so('closed_at'), n('updated_at'), s('photos'), s('linked_case_ids'), s('departments'),
    s('allowed_actions')],
  whistle_calls: [s('kind'), s('urgency'), s('status'), so('category_code'), so('description'),
    n('version'), no('lon'), no('lat'), so('address'), so('grid_code'), so('grid_id'),
    so('township_id'), so('district_id'), so('lead_unit_id'), so('raised_by_user_id'),
    so('raised_by_department_id'), no('arrival_radius_m'), so('rejection_reason'), so('result'), n('event_count'),
    so('raised_at'), so('judged_at'), so('arrival_due_at'), so('completion_due_at'),
    so('closed_at'), n('updated_at'), s('photos'), s('linked_case_ids'), s('departments'),
    s('allowed_actions')],
  postings: [s('staff_user_id'), s('department_id'), s('mode'), s('grid_ids'), s('grid_codes'),
    so('weekdays'), so('day_start'), so('day_end'), no('visits_required'), so('visit_period'),
    s('valid_from'), so('valid_to'), so('note'), n('updated_at'), so('ended_at')],
  notifications: [s('kind'), so('subject_type'), so('subject_id'), s('title'), so('body'),
    so('unit_id'), so('user_id'), n('created_at'), so('acknowledged_at')],
  rejected_operations: [s('name'), s('code'), s('message'), no('device_seq'),
    so('case_id', { isIndexed: true }), s('received_at'), s('flags')],
}

// The phone's own queue: one record per offline operation, id = the operation's UUID.
const OPERATIONS = [s('name'), s('args'), no('base_version'), n('device_seq'),
  s('device_time')]

const schema = appSchema({
  version: 1,
  tables: [
    ...Object.entries(READ_ONLY_TABLES).map(([name, columns]) => tableSchema({ name, columns })),
    tableSchema({ name: 'operations', columns: OPERATIONS }),
  ],
})

module.exports = { schema, READ_ONLY_TABLES, OPERATIONS }
