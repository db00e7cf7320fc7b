// Chat templates: the fixtures' own templates (Qwen3's, Llama-3's) and templates written here, against
// expected strings derived by hand from the template text; tokenized output against the Rust binding.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import rust from 'tokenizers';
import { ChatTemplateError, Tokenizer, strftime, type ChatMessage } from '../../src/tokenizer/index.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const fixture = (name: string, file = '') => fileURLToPath(new URL(`${name}/${file}`, FIXTURES));
const qwen = await Tokenizer.fromDir(fixture('qwen2-tiny'));
const llama = await Tokenizer.fromDir(fixture('llama-tiny'));
const qwenRust = rust.Tokenizer.fromFile(fixture('qwen2-tiny', 'tokenizer.json'));
const llamaRust = rust.Tokenizer.fromFile(fixture('llama-tiny', 'tokenizer.json'));

const scratch = await mkdtemp(join(tmpdir(), 'intuitor-chat-'));
after(() => rm(scratch, { recursive: true, force: true }));

const CONVERSATION: ChatMessage[] = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'What is 1+1?' },
  { role: 'assistant', content: '1+1 = 2.' },
  { role: 'user', content: 'And 2+2?' },
];
const QWEN_CONVERSATION =
  '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' +
  '<|im_start|>user\nWhat is 1+1?<|im_end|>\n' +
  '<|im_start|>assistant\n1+1 = 2.<|im_end|>\n' +
  '<|im_start|>user\nAnd 2+2?<|im_end|>\n';

test('Qwen3 template: system + user + assistant turns, add_generation_prompt true and false', () => {
  assert.equal(qwen.applyChatTemplate(CONVERSATION, { tokenize: false }), QWEN_CONVERSATION);
  assert.equal(
    qwen.applyChatTemplate(CONVERSATION, { tokenize: false, addGenerationPrompt: true }),
    QWEN_CONVERSATION + '<|im_start|>assistant\n',
  );
});

test('Qwen3 template: enable_thinking false adds an empty think block; true or unset adds nothing', () => {
  const render = (variables?: Record<string, unknown>) =>
    qwen.applyChatTemplate(CONVERSATION, { tokenize: false, addGenerationPrompt: true, variables });
  assert.equal(render({ enable_thinking: false }), QWEN_CONVERSATION + '<|im_start|>assistant\n<think>\n\n</think>\n\n');
  assert.equal(render({ enable_thinking: true }), QWEN_CONVERSATION + '<|im_start|>assistant\n');
  assert.equal(render(), QWEN_CONVERSATION + '<|im_start|>assistant\n');
  // Without a generation prompt enable_thinking has no effect.
  assert.equal(qwen.applyChatTemplate(CONVERSATION, { tokenize: false, variables: { enable_thinking: false } }), QWEN_CONVERSATION);
});

test('Qwen3 template: reasoning of the final assistant turn is kept, that of earlier turns dropped', () => {
  const q = 'What is 2+2?';
  const render = (messages: ChatMessage[], addGenerationPrompt = false) =>
    qwen.applyChatTemplate(messages, { tokenize: false, addGenerationPrompt });
  assert.equal(
    render([{ role: 'user', content: q }, { role: 'assistant', content: '<think>\nTwo plus two.\n</think>\n\nThe answer is 4.' }]),
    '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\nTwo plus two.\n</think>\n\nThe answer is 4.<|im_end|>\n',
  );
  // A final answer without reasoning still gets an (empty) think block.
  assert.equal(
    render([{ role: 'user', content: q }, { role: 'assistant', content: '4' }]),
    '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n4<|im_end|>\n',
  );
  // reasoning_content given as its own key.
  assert.equal(
    render([{ role: 'user', content: q }, { role: 'assistant', content: '4', reasoning_content: '\nAdd them.\n' }]),
    '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\nAdd them.\n</think>\n\n4<|im_end|>\n',
  );
  assert.equal(
    render([
      { role: 'user', content: 'Q1' },
      { role: 'assistant', content: '<think>\nr1\n</think>\n\nA1' },
      { role: 'user', content: 'Q2' },
    ], true),
    '<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n',
  );
});

test('Qwen3 template: tools (tojson as Python json.dumps) and a tool call with its response', () => {
  const tools = [{
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Get the weather in a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  }];
  assert.equal(
    qwen.applyChatTemplate(
      [{ role: 'system', content: 'You are a bot.' }, { role: 'user', content: 'Weather in Paris?' }],
      { tokenize: false, addGenerationPrompt: true, tools },
    ),
    '<|im_start|>system\nYou are a bot.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n' +
      'You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n' +
      '{"type": "function", "function": {"name": "get_weather", "description": "Get the weather in a city", ' +
      '"parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}\n</tools>\n\n' +
      'For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n' +
      '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n' +
      '<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n',
  );
  assert.equal(
    qwen.applyChatTemplate([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: '', tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: { city: 'Paris' } } }] },
      { role: 'tool', content: '{"temp": 21}' },
    ], { tokenize: false, addGenerationPrompt: true }),
    '<|im_start|>user\nWeather in Paris?<|im_end|>\n' +
      '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>\n' +
      '<|im_start|>user\n<tool_response>\n{"temp": 21}\n</tool_response><|im_end|>\n<|im_start|>assistant\n',
  );
});

test('systemPrompt puts a system message first', () => {
  assert.equal(
    qwen.applyChatTemplate([{ role: 'user', content: 'Hi' }], { tokenize: false, addGenerationPrompt: true, systemPrompt: 'Be brief.' }),
    '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
  );
  assert.throws(() => qwen.applyChatTemplate(CONVERSATION, { systemPrompt: 'Be brief.' }), {
    message: 'applyChatTemplate: systemPrompt given, but messages already start with a system message',
  });
});

test('tokenize (the default) encodes the rendered text without adding special tokens, as the Rust binding does', async () => {
  const ids = qwen.applyChatTemplate(CONVERSATION, { addGenerationPrompt: true });
  const want = (await qwenRust.encode(QWEN_CONVERSATION + '<|im_start|>assistant\n', null, { addSpecialTokens: false })).getIds();
  assert.deepEqual(ids, want);
  assert.equal(ids[0], 151644);
  assert.deepEqual(ids.slice(-3), [151644, 77091, 198]); // <|im_start|> assistant \n
  assert.equal(qwen.decode(ids), QWEN_CONVERSATION + '<|im_start|>assistant\n');
});

const LLAMA_FIXTURE_EXPECTED =
  '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a pirate.<|eot_id|>' +
  '<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>' +
  '<|start_header_id|>assistant<|end_header_id|>\n\n';
const PIRATE: ChatMessage[] = [{ role: 'system', content: 'You are a pirate.' }, { role: 'user', content: '  Hello!  \n' }];

test("llama-tiny's own Llama-3 template: bos_token, trimmed content, header always appended", async () => {
  assert.equal(llama.hasChatTemplate, true);
  // This template appends the assistant header whatever add_generation_prompt says.
  assert.equal(llama.applyChatTemplate(PIRATE, { tokenize: false }), LLAMA_FIXTURE_EXPECTED);
  assert.equal(llama.applyChatTemplate(PIRATE, { tokenize: false, addGenerationPrompt: true }), LLAMA_FIXTURE_EXPECTED);
  const ids = llama.applyChatTemplate(PIRATE);
  assert.deepEqual(ids, (await llamaRust.encode(LLAMA_FIXTURE_EXPECTED, null, { addSpecialTokens: false })).getIds());
  assert.deepEqual(ids.slice(0, 2), [128000, 128006]);
  assert.equal(ids.filter((id) => id === 128009).length, 2); // <|eot_id|> after each turn
});

// A Llama-3 template written from the documented format, with add_generation_prompt honoured.
const LLAMA3_TEMPLATE =
  "{{- bos_token }}{%- for message in messages %}" +
  "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}" +
  "{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n{%- endif %}\n";

test('a Llama-3 template given in the options, add_generation_prompt true and false', () => {
  const turns: ChatMessage[] = [...PIRATE, { role: 'assistant', content: 'Arr!' }];
  const body =
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a pirate.<|eot_id|>' +
    '<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\nArr!<|eot_id|>';
  assert.equal(llama.applyChatTemplate(turns, { tokenize: false, chatTemplate: LLAMA3_TEMPLATE }), body);
  assert.equal(
    llama.applyChatTemplate(turns, { tokenize: false, chatTemplate: LLAMA3_TEMPLATE, addGenerationPrompt: true }),
    body + '<|start_header_id|>assistant<|end_header_id|>\n\n',
  );
  // Qwen has no bos_token: the same template renders without it there.
  assert.equal(qwen.applyChatTemplate([{ role: 'user', content: 'x' }], { tokenize: false, chatTemplate: LLAMA3_TEMPLATE }),
    '<|start_header_id|>user<|end_header_id|>\n\nx<|eot_id|>');
});

test('the template sees the defined special tokens only, and tools/documents as none', () => {
  const probe = "{{ bos_token }}|{{ eos_token }}|{{ pad_token }}|{{ bos_token is defined }}|{{ tools is none }}|{{ documents is none }}|{{ additional_special_tokens is defined }}|{{ foo }}";
  assert.equal(
    qwen.applyChatTemplate([], { tokenize: false, chatTemplate: probe, variables: { foo: 'bar' } }),
    '|<|im_end|>|<|endoftext|>|false|true|true|true|bar',
  );
  assert.equal(qwen.applyChatTemplate([], { tokenize: false, chatTemplate: '{{ additional_special_tokens | join(",") }}' }),
    '<|im_start|>,<|im_end|>,<|object_ref_start|>,<|object_ref_end|>,<|box_start|>,<|box_end|>,<|quad_start|>,<|quad_end|>,' +
    '<|vision_start|>,<|vision_end|>,<|vision_pad|>,<|image_pad|>,<|video_pad|>');
  assert.equal(
    llama.applyChatTemplate([], { tokenize: false, chatTemplate: probe }),
    '<|begin_of_text|>|<|end_of_text|>||true|true|true|false|',
  );
  assert.throws(() => qwen.applyChatTemplate([], { chatTemplate: probe, variables: { messages: [] } }), {
    name: 'TypeError',
    message: 'applyChatTemplate: "messages" is set by applyChatTemplate itself and cannot be a variable',
  });
});

test('raise_exception in a template becomes a ChatTemplateError carrying its message', () => {
  const strict =
    "{%- if messages[0]['role'] != 'user' %}{{ raise_exception('Conversations must start with a user message') }}{%- endif %}" +
    "{{ messages[0]['content'] }}";
  assert.equal(qwen.applyChatTemplate([{ role: 'user', content: 'ok' }], { tokenize: false, chatTemplate: strict }), 'ok');
  assert.throws(() => qwen.applyChatTemplate([{ role: 'assistant', content: 'no' }], { chatTemplate: strict }), (err: Error) => {
    assert.ok(err instanceof ChatTemplateError);
    assert.equal(
      err.message,
      `${fixture('qwen2-tiny').replace(/\/$/, '')} (chat template given in options): the chat template raised an exception: Conversations must start with a user message`,
    );
    return true;
  });
});

test('strftime_now formats the current date as Python does in the C locale', () => {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const fmt = (d: Date) => `${String(d.getDate()).padStart(2, '0')} ${months[d.getMonth()]} ${d.getFullYear()}`;
  const before = fmt(new Date());
  const out = llama.applyChatTemplate([], { tokenize: false, chatTemplate: "Today Date: {{ strftime_now('%d %b %Y') }}" });
  const afterwards = fmt(new Date());
  assert.ok(out === `Today Date: ${before}` || out === `Today Date: ${afterwards}`, out);
  assert.equal(
    strftime(new Date(2024, 6, 4, 15, 5, 9), '%a %A %b %B %d %H %I %j %m %M %p %S %y %Y %% %Q'),
    'Thu Thursday Jul July 04 15 03 186 07 05 PM 09 24 2024 % %Q',
  );
  assert.equal(strftime(new Date(2023, 0, 1, 0, 0, 0), '%I %p %j'), '12 AM 001');
});

test('named chat templates: default, tool_use when tools are given, or by name', async () => {
  const json = JSON.parse(await readFile(fixture('llama-tiny', 'tokenizer.json'), 'utf8'));
  const config = { eos_token: '<|eot_id|>', chat_template: [{ name: 'default', template: 'D' }, { name: 'tool_use', template: 'T' }, { name: 'rag', template: 'R' }] };
  const tok = Tokenizer.fromJSON(json, config, { name: 'named' });
  assert.equal(tok.applyChatTemplate([], { tokenize: false }), 'D');
  assert.equal(tok.applyChatTemplate([], { tokenize: false, tools: [] }), 'T');
  assert.equal(tok.applyChatTemplate([], { tokenize: false, templateName: 'rag' }), 'R');
  assert.throws(() => tok.applyChatTemplate([], { templateName: 'nope' }), {
    message: 'named: no chat template named "nope" (available: default, rag, tool_use)',
  });
  assert.throws(() => qwen.applyChatTemplate([], { templateName: 'rag' }), {
    message: `${fixture('qwen2-tiny').replace(/\/$/, '')}: templateName "rag" given, but the folder has a single unnamed chat template`,
  });
});

test('a folder without a chat template: plain prompts work, chat names the folder, a given template works', async () => {
  const dir = join(scratch, 'no-template');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir);
  await symlink(fixture('llama-tiny', 'tokenizer.json'), join(dir, 'tokenizer.json'));
  const config = JSON.parse(await readFile(fixture('llama-tiny', 'tokenizer_config.json'), 'utf8'));
  delete config.chat_template;
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  const tok = await Tokenizer.fromDir(dir);
  assert.equal(tok.hasChatTemplate, false);
  assert.deepEqual(tok.encode('Hello, world!'), [9906, 11, 1917, 0]);
  assert.throws(() => tok.applyChatTemplate([{ role: 'user', content: 'Hi' }]), (err: Error) => {
    assert.ok(err instanceof ChatTemplateError);
    assert.equal(err.message, `${dir} has no chat_template in tokenizer_config.json; pass a template or use plain prompts`);
    return true;
  });
  assert.equal(
    tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { tokenize: false, chatTemplate: LLAMA3_TEMPLATE, addGenerationPrompt: true }),
    '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  );
  // chat_template.jinja (newer transformers) is picked up when present.
  await writeFile(join(dir, 'chat_template.jinja'), '{{ messages[0].content }}!');
  const withFile = await Tokenizer.fromDir(dir);
  assert.equal(withFile.applyChatTemplate([{ role: 'user', content: 'Hi' }], { tokenize: false }), 'Hi!');
});

test('template syntax errors and bad messages are clear errors', () => {
  assert.throws(() => qwen.applyChatTemplate([], { chatTemplate: '{% if %}' }), {
    name: 'ChatTemplateError',
    message: /\(chat template given in options\): cannot parse the chat template: /,
  });
  assert.throws(() => qwen.applyChatTemplate([{ content: 'x' } as unknown as ChatMessage]), {
    name: 'TypeError',
    message: 'applyChatTemplate: messages[0] must be an object with a string "role"',
  });
  assert.throws(() => qwen.applyChatTemplate('hi' as unknown as ChatMessage[]), {
    message: 'applyChatTemplate: messages must be an array of {role, content}',
  });
});
