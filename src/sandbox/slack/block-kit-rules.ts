/**
 * Block Kit validation for FakeSlack, written as tables of rules so a limit is one line to read or change.
 *
 * Wording and pointers follow what Slack sends back, e.g.
 * `[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]` or
 * `[ERROR] no more than 50 items allowed [json-pointer:/blocks]`. Limits come from docs.slack.dev's
 * block, element and composition-object pages and the comments in @slack/types.
 */

export type JsonObject = Record<string, unknown>;

export interface Problem {
  pointer: string;
  message: string;
}

interface Context {
  problems: Problem[];
}

/** A rule checks one value found at `pointer` and records what Slack would object to. */
type Rule = (value: unknown, pointer: string, context: Context) => void;

export const MESSAGE_LIMITS = {
  blocks: 50,
  /** Slack answers `msg_blocks_too_long` near 13.2k characters of block text (slackapi/bolt-js#2509). */
  blockText: 13_000,
  text: 40_000,
};

export const MODAL_LIMITS = {
  blocks: 100,
  title: 24,
  button: 24,
  callbackId: 255,
  privateMetadata: 3000,
  externalId: 255,
};

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function report(context: Context, pointer: string, message: string): void {
  context.problems.push({ pointer, message });
}

// ---------------------------------------------------------------------------
// Primitive rules
// ---------------------------------------------------------------------------

const anything: Rule = () => {};

function text(limits: { min?: number; max?: number; oneOf?: readonly string[] } = {}): Rule {
  return (value, pointer, context) => {
    if (typeof value !== 'string') return report(context, pointer, 'must be a string');
    if (limits.min !== undefined && value.length < limits.min)
      report(context, pointer, `must be at least ${limits.min} characters`);
    if (limits.max !== undefined && value.length > limits.max)
      report(context, pointer, `must be less than ${limits.max + 1} characters`);
    if (limits.oneOf && !limits.oneOf.includes(value))
      report(context, pointer, `must be one of: ${limits.oneOf.join(', ')}`);
  };
}

const bool: Rule = (value, pointer, context) => {
  if (typeof value !== 'boolean') report(context, pointer, 'must be a boolean');
};

function integer(limits: { min?: number; max?: number } = {}): Rule {
  return (value, pointer, context) => {
    if (typeof value !== 'number' || !Number.isInteger(value))
      return report(context, pointer, 'must be an integer');
    if (limits.min !== undefined && value < limits.min)
      report(context, pointer, `must be at least ${limits.min}`);
    if (limits.max !== undefined && value > limits.max)
      report(context, pointer, `must be at most ${limits.max}`);
  };
}

function list(item: Rule, limits: { min?: number; max?: number }): Rule {
  return (value, pointer, context) => {
    if (!Array.isArray(value)) return report(context, pointer, 'must be an array');
    if (limits.max !== undefined && value.length > limits.max)
      report(context, pointer, `no more than ${limits.max} items allowed`);
    if (limits.min !== undefined && value.length < limits.min)
      report(context, pointer, `must provide at least ${limits.min} items`);
    value.forEach((entry, index) => {
      item(entry, `${pointer}/${index}`, context);
    });
  };
}

interface Shape {
  fields: Record<string, Rule>;
  required?: string[];
  /** At least one of these fields must be present; the message is Slack's for sections. */
  oneOf?: { fields: string[]; message: string };
  /** Exactly one of these fields (e.g. `options` or `option_groups`). */
  exactlyOne?: string[];
}

/** An object with known fields only: Slack refuses an unknown property as `invalid additional property`. */
function shape(spec: Shape): Rule {
  return (value, pointer, context) => {
    if (!isObject(value)) return report(context, pointer, 'must be an object');
    for (const [key, fieldValue] of Object.entries(value)) {
      const rule = spec.fields[key];
      if (!rule) report(context, pointer, `invalid additional property: ${key}`);
      else rule(fieldValue, `${pointer}/${key}`, context);
    }
    for (const key of spec.required ?? []) {
      if (value[key] === undefined) report(context, pointer, `missing required field: ${key}`);
    }
    if (spec.oneOf && !spec.oneOf.fields.some((key) => value[key] !== undefined))
      report(context, pointer, spec.oneOf.message);
    if (spec.exactlyOne && spec.exactlyOne.filter((key) => value[key] !== undefined).length !== 1)
      report(context, pointer, `must define exactly one of: ${spec.exactlyOne.join(', ')}`);
  };
}

/** Picks the rule by the value's `type`; a type outside `allowed` is `unsupported type: X`. */
function byType(table: Record<string, Rule>, allowed: readonly string[] = Object.keys(table)): Rule {
  return (value, pointer, context) => {
    if (!isObject(value)) return report(context, pointer, 'must be an object');
    const type = value.type;
    if (typeof type !== 'string') return report(context, pointer, 'missing required field: type');
    const rule = table[type];
    if (!rule || !allowed.includes(type))
      return report(context, `${pointer}/type`, `unsupported type: ${type}`);
    rule(value, pointer, context);
  };
}

// ---------------------------------------------------------------------------
// Composition objects
// ---------------------------------------------------------------------------

type TextKind = 'plain_text' | 'mrkdwn';

const TEXT_FIELDS: Record<TextKind, Record<string, Rule>> = {
  plain_text: { type: anything, emoji: bool },
  mrkdwn: { type: anything, verbatim: bool },
};

/** A text object: `{type: 'plain_text'|'mrkdwn', text}`, with the text's length limited. */
function textObject(kinds: readonly TextKind[], max: number): Rule {
  return (value, pointer, context) => {
    if (!isObject(value)) return report(context, pointer, 'must be a text object');
    const kind = value.type as TextKind;
    if (!kinds.includes(kind)) {
      const expected = kinds.join(' or ');
      return report(context, `${pointer}/type`, `must be ${expected}, got ${String(value.type)}`);
    }
    shape({ fields: { ...TEXT_FIELDS[kind], text: text({ min: 1, max }) }, required: ['text'] })(
      value,
      pointer,
      context,
    );
  };
}

const plainText = (max: number) => textObject(['plain_text'], max);
const anyText = (max: number) => textObject(['plain_text', 'mrkdwn'], max);

const STYLES = ['primary', 'danger'] as const;
const url = text({ max: 3000 });
const actionId = text({ min: 1, max: 255 });
const placeholder = plainText(150);

const confirm = shape({
  fields: {
    title: plainText(100),
    text: anyText(300),
    confirm: plainText(30),
    deny: plainText(30),
    style: text({ oneOf: STYLES }),
  },
  required: ['title', 'text', 'confirm', 'deny'],
});

const optionFields = { text: plainText(75), value: text({ max: 150 }), description: plainText(75) };
const selectOption = shape({ fields: optionFields, required: ['text', 'value'] });
const overflowOption = shape({ fields: { ...optionFields, url }, required: ['text', 'value'] });
const choiceOption = shape({
  fields: { text: anyText(75), value: text({ max: 150 }), description: anyText(75) },
  required: ['text', 'value'],
});
const optionGroup = shape({
  fields: { label: plainText(75), options: list(selectOption, { min: 1, max: 100 }) },
  required: ['label', 'options'],
});

// ---------------------------------------------------------------------------
// Block elements
// ---------------------------------------------------------------------------

const interactive = { type: anything, action_id: actionId, confirm, focus_on_load: bool };

function element(fields: Record<string, Rule>, rest: Omit<Shape, 'fields'> = {}): Rule {
  return shape({ fields: { ...interactive, ...fields }, ...rest });
}

const staticOptions = {
  placeholder,
  options: list(selectOption, { min: 1, max: 100 }),
  option_groups: list(optionGroup, { min: 1, max: 100 }),
};
const inputFields = { placeholder, dispatch_action_config: anything };

const ELEMENTS: Record<string, Rule> = {
  button: element(
    {
      text: plainText(75),
      url,
      value: text({ max: 2000 }),
      style: text({ oneOf: STYLES }),
      accessibility_label: text({ max: 75 }),
    },
    { required: ['text'] },
  ),
  overflow: element({ options: list(overflowOption, { min: 2, max: 5 }) }, { required: ['options'] }),
  static_select: element(
    { ...staticOptions, initial_option: selectOption },
    { exactlyOne: ['options', 'option_groups'] },
  ),
  multi_static_select: element(
    {
      ...staticOptions,
      initial_options: list(selectOption, { max: 100 }),
      max_selected_items: integer({ min: 1 }),
    },
    { exactlyOne: ['options', 'option_groups'] },
  ),
  external_select: element({
    placeholder,
    initial_option: selectOption,
    min_query_length: integer({ min: 0 }),
  }),
  users_select: element({ placeholder, initial_user: text() }),
  multi_users_select: element({
    placeholder,
    initial_users: list(text(), {}),
    max_selected_items: integer({ min: 1 }),
  }),
  conversations_select: element({
    placeholder,
    initial_conversation: text(),
    default_to_current_conversation: bool,
    response_url_enabled: bool,
    filter: anything,
  }),
  channels_select: element({ placeholder, initial_channel: text(), response_url_enabled: bool }),
  datepicker: element({ placeholder, initial_date: text({ min: 10, max: 10 }) }),
  timepicker: element({ placeholder, initial_time: text({ min: 5, max: 5 }), timezone: text() }),
  datetimepicker: element({ initial_date_time: integer({ min: 0 }) }),
  checkboxes: element(
    { options: list(choiceOption, { min: 1, max: 10 }), initial_options: list(choiceOption, { max: 10 }) },
    { required: ['options'] },
  ),
  radio_buttons: element(
    { options: list(choiceOption, { min: 1, max: 10 }), initial_option: choiceOption },
    { required: ['options'] },
  ),
  plain_text_input: element({
    ...inputFields,
    initial_value: text(),
    multiline: bool,
    min_length: integer({ min: 0, max: 3000 }),
    max_length: integer({ min: 1, max: 3000 }),
  }),
  number_input: element(
    {
      ...inputFields,
      is_decimal_allowed: bool,
      initial_value: text(),
      min_value: text(),
      max_value: text(),
    },
    { required: ['is_decimal_allowed'] },
  ),
  email_text_input: element({ ...inputFields, initial_value: text() }),
  url_text_input: element({ ...inputFields, initial_value: text() }),
  image: shape({
    fields: { type: anything, image_url: url, slack_file: anything, alt_text: text({ max: 2000 }) },
    required: ['alt_text'],
  }),
};

const SELECTS = [
  'static_select',
  'multi_static_select',
  'external_select',
  'users_select',
  'multi_users_select',
  'conversations_select',
  'channels_select',
];
const PICKERS = ['datepicker', 'timepicker', 'datetimepicker', 'checkboxes', 'radio_buttons'];

/** Which elements each container accepts (docs.slack.dev, "Compatible blocks" of each element). */
const ALLOWED_ELEMENTS = {
  sectionAccessory: [
    'button',
    'overflow',
    'image',
    ...SELECTS,
    ...PICKERS.filter((t) => t !== 'datetimepicker'),
  ],
  actions: ['button', 'overflow', ...SELECTS, ...PICKERS],
  input: ['plain_text_input', 'number_input', 'email_text_input', 'url_text_input', ...SELECTS, ...PICKERS],
};

const contextElement = byType({ image: ELEMENTS.image!, plain_text: anyText(3000), mrkdwn: anyText(3000) });

// ---------------------------------------------------------------------------
// Blocks
// ---------------------------------------------------------------------------

function block(fields: Record<string, Rule>, rest: Omit<Shape, 'fields'> = {}): Rule {
  return shape({ fields: { type: anything, block_id: text({ min: 1, max: 255 }), ...fields }, ...rest });
}

const BLOCKS: Record<string, Rule> = {
  section: block(
    {
      text: anyText(3000),
      fields: list(anyText(2000), { min: 1, max: 10 }),
      accessory: byType(ELEMENTS, ALLOWED_ELEMENTS.sectionAccessory),
      expand: bool,
    },
    { oneOf: { fields: ['text', 'fields'], message: 'must define either `text` or `fields`' } },
  ),
  header: block({ text: plainText(150) }, { required: ['text'] }),
  divider: block({}),
  context: block({ elements: list(contextElement, { min: 1, max: 10 }) }, { required: ['elements'] }),
  actions: block(
    { elements: list(byType(ELEMENTS, ALLOWED_ELEMENTS.actions), { min: 1, max: 25 }) },
    { required: ['elements'] },
  ),
  image: block(
    { image_url: url, slack_file: anything, alt_text: text({ max: 2000 }), title: plainText(2000) },
    { required: ['alt_text'] },
  ),
  input: block(
    {
      label: plainText(2000),
      element: byType(ELEMENTS, ALLOWED_ELEMENTS.input),
      hint: plainText(2000),
      optional: bool,
      dispatch_action: bool,
    },
    { required: ['label', 'element'] },
  ),
  markdown: block({ text: text({ min: 1, max: 12_000 }) }, { required: ['text'] }),
  rich_text: block({ elements: list(anything, { min: 1 }) }, { required: ['elements'] }),
};

/** The interactive elements of a block, wherever the block type keeps them. */
export function elementsOf(blockValue: JsonObject): JsonObject[] {
  const found: unknown[] = [];
  if (Array.isArray(blockValue.elements) && blockValue.type === 'actions') found.push(...blockValue.elements);
  if (blockValue.accessory !== undefined) found.push(blockValue.accessory);
  if (blockValue.element !== undefined) found.push(blockValue.element);
  return found.filter(isObject);
}

/** Cross-block rules no single block can see: unique block_ids, action_ids unique within their block. */
function checkIdentifiers(blocks: unknown[], pointer: string, context: Context): void {
  const seenBlockIds = new Set<string>();
  blocks.forEach((entry, index) => {
    if (!isObject(entry)) return;
    const at = `${pointer}/${index}`;
    if (typeof entry.block_id === 'string') {
      if (seenBlockIds.has(entry.block_id))
        report(context, `${at}/block_id`, `duplicate block_id: ${entry.block_id} (block_id must be unique)`);
      seenBlockIds.add(entry.block_id);
    }
    const seenActionIds = new Set<string>();
    for (const child of elementsOf(entry)) {
      if (typeof child.action_id !== 'string') continue;
      if (seenActionIds.has(child.action_id))
        report(
          context,
          at,
          `duplicate action_id: ${child.action_id} (action_id must be unique within its block)`,
        );
      seenActionIds.add(child.action_id);
    }
  });
}

function checkBlocks(blocks: unknown, pointer: string, max: number, context: Context): void {
  list(byType(BLOCKS), { max })(blocks, pointer, context);
  if (Array.isArray(blocks)) checkIdentifiers(blocks, pointer, context);
}

// ---------------------------------------------------------------------------
// Public entry points
// ---------------------------------------------------------------------------

/** Problems Slack would report for a message's `blocks` (chat.postMessage, chat.update, response_url). */
export function messageBlockProblems(blocks: unknown): Problem[] {
  const context: Context = { problems: [] };
  checkBlocks(blocks, '/blocks', MESSAGE_LIMITS.blocks, context);
  return context.problems;
}

const MODAL = shape({
  fields: {
    type: text({ oneOf: ['modal'] }),
    title: plainText(MODAL_LIMITS.title),
    submit: plainText(MODAL_LIMITS.button),
    close: plainText(MODAL_LIMITS.button),
    blocks: anything, // checked below with the cross-block rules
    private_metadata: text({ max: MODAL_LIMITS.privateMetadata }),
    callback_id: text({ max: MODAL_LIMITS.callbackId }),
    external_id: text({ max: MODAL_LIMITS.externalId }),
    clear_on_close: bool,
    notify_on_close: bool,
    submit_disabled: bool,
  },
  required: ['type', 'title', 'blocks'],
});

/** Problems Slack would report for a modal view (views.open, views.update). */
export function modalViewProblems(view: unknown): Problem[] {
  const context: Context = { problems: [] };
  MODAL(view, '/view', context);
  if (!isObject(view)) return context.problems;
  checkBlocks(view.blocks, '/view/blocks', MODAL_LIMITS.blocks, context);
  if (Array.isArray(view.blocks) && view.submit === undefined) {
    view.blocks.forEach((entry, index) => {
      if (isObject(entry) && entry.type === 'input')
        report(
          context,
          `/view/blocks/${index}/input`,
          'must define `submit` to use an `input` block in modals',
        );
    });
  }
  return context.problems;
}

/** Slack's two renderings of problems: `errors` and `response_metadata.messages`. */
export function describeProblems(problems: Problem[]): { errors: string[]; messages: string[] } {
  const errors = problems.map((problem) => `${problem.message} [json-pointer:${problem.pointer}]`);
  return { errors, messages: errors.map((line) => `[ERROR] ${line}`) };
}

/** Total characters of every `text` string inside the blocks: what `msg_blocks_too_long` is about. */
export function blockTextLength(value: unknown): number {
  if (Array.isArray(value)) return value.reduce<number>((sum, entry) => sum + blockTextLength(entry), 0);
  if (!isObject(value)) return 0;
  let total = 0;
  for (const [key, child] of Object.entries(value)) {
    if (key === 'text' && typeof child === 'string') total += child.length;
    else total += blockTextLength(child);
  }
  return total;
}

/**
 * A deep copy with the ids Slack fills in when a block or element has none (Slack stores and echoes
 * generated ids, so a click on such a button still carries a block_id and action_id).
 */
export function withGeneratedIds(blocks: unknown[], newId: () => string): JsonObject[] {
  const copy = structuredClone(blocks).filter(isObject);
  for (const entry of copy) {
    if (entry.block_id === undefined) entry.block_id = newId();
    for (const child of elementsOf(entry)) {
      if (child.type !== 'image' && child.action_id === undefined) child.action_id = newId();
    }
  }
  return copy;
}
