// Switchyard against the official `openai` npm SDK, unchanged, over real sockets.
//
// Needs a running gateway loaded with tests/compat/seed.yaml (tests/compat/run.sh does all of it):
//   SWITCHYARD_COMPAT_BASE_URL    e.g. http://127.0.0.1:PORT/v1
//   SWITCHYARD_COMPAT_KEY         a key with generous limits
//   SWITCHYARD_COMPAT_TIGHT_KEY   a key whose budget is one micro-dollar (402)
// Run: node --test   (in tests/compat)
//
// The models come from seed.yaml and run on the built-in mock provider (docs/providers.md): chat answers
// "Mock answer: <last user message>", one stream chunk per word; `mock:status=NNN` in the prompt injects a
// provider status and `mock:break_after=N` breaks a stream after N content chunks.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const baseURL = requiredEnv('SWITCHYARD_COMPAT_BASE_URL');
const apiKey = requiredEnv('SWITCHYARD_COMPAT_KEY');
const tightKey = requiredEnv('SWITCHYARD_COMPAT_TIGHT_KEY');

const CHAT = 'mock-chat';
const EMBED = 'mock-embed';

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tests/compat/run.sh, or set it to a running gateway's`);
  return value;
}

// maxRetries 0: an error reaches the test at once, as the gateway sent it, with no SDK retry in between.
function client(key = apiKey) {
  return new OpenAI({ baseURL, apiKey: key, maxRetries: 0, timeout: 30_000 });
}
const openai = client();

// The SDK's headers are a Headers object in 5.x and a plain object in 4.x.
function header(headers, name) {
  if (!headers) return undefined;
  if (typeof headers.get === 'function') return headers.get(name) ?? undefined;
  return headers[name.toLowerCase()];
}

// Runs `fn` and returns what it threw, failing when it throws nothing or something not of `cls`.
async function rejection(fn, cls) {
  let caught;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected ${cls.name}, but nothing was thrown`);
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${caught?.constructor?.name}: ${caught?.message}`);
  return caught;
}

function words(text) {
  return text.trim().split(/\s+/).filter(Boolean);
}

describe('chat completions', () => {
  test('non-stream: content, finish_reason and usage', async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: CHAT, messages: [{ role: 'user', content: 'Say hello' }] })
      .withResponse();
    assert.equal(response.status, 200);
    assert.ok(header(response.headers, 'x-request-id'), 'every response carries X-Request-Id');
    assert.equal(data.object, 'chat.completion');
    assert.match(data.id, /^chatcmpl-/);
    assert.equal(data.model, CHAT);
    assert.equal(data.choices.length, 1);
    const [choice] = data.choices;
    assert.equal(choice.index, 0);
    assert.equal(choice.message.role, 'assistant');
    assert.equal(choice.message.content, 'Mock answer: Say hello');
    assert.equal(choice.finish_reason, 'stop');
    assert.ok(data.usage.prompt_tokens > 0);
    assert.equal(data.usage.completion_tokens, words('Mock answer: Say hello').length);
    assert.equal(data.usage.total_tokens, data.usage.prompt_tokens + data.usage.completion_tokens);
  });

  test('non-stream: the answer follows the last user message', async () => {
    const data = await openai.chat.completions.create({
      model: CHAT,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'first answer' },
        { role: 'user', content: 'second question' },
      ],
    });
    assert.equal(data.choices[0].message.content, 'Mock answer: second question');
  });

  test('stream: chunks concatenate to the answer, [DONE] ends the iteration, no usage-only chunk', async () => {
    const stream = await openai.chat.completions.create({
      model: CHAT,
      messages: [{ role: 'user', content: 'count the words here' }],
      stream: true,
    });
    let content = '';
    let chunks = 0;
    let finish = null;
    for await (const chunk of stream) {
      chunks++;
      assert.equal(chunk.object, 'chat.completion.chunk');
      assert.equal(chunk.model, CHAT);
      assert.ok(chunk.choices.length > 0, 'without include_usage no chunk has empty choices');
      assert.ok(chunk.usage == null, 'without include_usage no chunk carries usage');
      const [choice] = chunk.choices;
      content += choice.delta?.content ?? '';
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    assert.equal(content, 'Mock answer: count the words here');
    assert.equal(finish, 'stop');
    assert.ok(chunks >= words(content).length, `one chunk per word at least (${chunks} chunks)`);
  });

  test('stream with stream_options.include_usage: the last chunk has usage and empty choices', async () => {
    const stream = await openai.chat.completions.create({
      model: CHAT,
      messages: [{ role: 'user', content: 'Say hello' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const all = [];
    for await (const chunk of stream) all.push(chunk);
    assert.ok(all.length >= 2);
    const last = all.at(-1);
    assert.deepEqual(last.choices, []);
    assert.ok(last.usage, 'the last chunk carries usage');
    assert.ok(last.usage.prompt_tokens > 0);
    assert.equal(last.usage.completion_tokens, words('Mock answer: Say hello').length);
    assert.equal(last.usage.total_tokens, last.usage.prompt_tokens + last.usage.completion_tokens);
    for (const chunk of all.slice(0, -1)) {
      assert.ok(chunk.choices.length > 0, 'only the last chunk has empty choices');
      assert.ok(chunk.usage == null, 'only the last chunk carries usage');
    }
    const content = all.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    assert.equal(content, 'Mock answer: Say hello');
  });

  test('stream through the SDK helper: finalChatCompletion assembles the message', async () => {
    const runner = openai.chat.completions.stream({
      model: CHAT,
      messages: [{ role: 'user', content: 'assemble me' }],
    });
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0].message.content, 'Mock answer: assemble me');
    assert.equal(final.choices[0].finish_reason, 'stop');
  });

  test('tools, tool_choice and other OpenAI fields are accepted (200)', async () => {
    const tools = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'The weather in a city',
          parameters: {
            type: 'object',
            properties: { city: { type: 'string' } },
            required: ['city'],
          },
        },
      },
    ];
    const { data, response } = await openai.chat.completions
      .create({
        model: CHAT,
        messages: [{ role: 'user', content: 'weather in Paris' }],
        tools,
        tool_choice: 'auto',
        temperature: 0.2,
        top_p: 1,
        user: 'compat-test',
      })
      .withResponse();
    assert.equal(response.status, 200);
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.choices.length, 1);

    const stream = await openai.chat.completions.create({
      model: CHAT,
      messages: [{ role: 'user', content: 'weather in Paris' }],
      tools,
      tool_choice: 'auto',
      stream: true,
    });
    let chunks = 0;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      chunks++;
    }
    assert.ok(chunks > 0);
  });

  test('max_tokens cuts the answer with finish_reason length; n repeats the choice', async () => {
    const cut = await openai.chat.completions.create({
      model: CHAT,
      messages: [{ role: 'user', content: 'one two three four five' }],
      max_tokens: 2,
    });
    assert.equal(cut.choices[0].finish_reason, 'length');
    assert.equal(cut.usage.completion_tokens, 2);
    assert.equal(words(cut.choices[0].message.content).length, 2);

    const many = await openai.chat.completions.create({
      model: CHAT,
      messages: [{ role: 'user', content: 'again' }],
      n: 2,
    });
    assert.equal(many.choices.length, 2);
    assert.deepEqual(
      many.choices.map((c) => c.index),
      [0, 1],
    );
    for (const c of many.choices) assert.equal(c.message.content, 'Mock answer: again');
  });
});

describe('completions', () => {
  test('non-stream', async () => {
    const data = await openai.completions.create({ model: CHAT, prompt: 'Say hello' });
    assert.equal(data.object, 'text_completion');
    assert.match(data.id, /^cmpl-/);
    assert.equal(data.model, CHAT);
    assert.equal(data.choices.length, 1);
    assert.equal(data.choices[0].text, 'Mock answer: Say hello');
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.ok(data.usage.prompt_tokens > 0);
    assert.equal(data.usage.completion_tokens, 4);
    assert.equal(data.usage.total_tokens, data.usage.prompt_tokens + data.usage.completion_tokens);
  });

  test('stream', async () => {
    const stream = await openai.completions.create({ model: CHAT, prompt: 'stream this prompt', stream: true });
    let text = '';
    let finish = null;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'text_completion');
      assert.ok(chunk.choices.length > 0);
      text += chunk.choices[0].text ?? '';
      if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
    }
    assert.equal(text, 'Mock answer: stream this prompt');
    assert.equal(finish, 'stop');
  });

  test('stream with include_usage: the last chunk has usage and empty choices', async () => {
    const stream = await openai.completions.create({
      model: CHAT,
      prompt: 'Say hello',
      stream: true,
      stream_options: { include_usage: true },
    });
    const all = [];
    for await (const chunk of stream) all.push(chunk);
    const last = all.at(-1);
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage.completion_tokens, 4);
    for (const chunk of all.slice(0, -1)) assert.ok(chunk.choices.length > 0);
  });
});

describe('embeddings', () => {
  const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

  test('encoding_format float: arrays of numbers, one per input, unit length, usage', async () => {
    const data = await openai.embeddings.create({
      model: EMBED,
      input: ['the first text', 'the second text'],
      encoding_format: 'float',
    });
    assert.equal(data.object, 'list');
    assert.equal(data.model, EMBED);
    assert.equal(data.data.length, 2);
    data.data.forEach((item, i) => {
      assert.equal(item.object, 'embedding');
      assert.equal(item.index, i);
      assert.ok(Array.isArray(item.embedding));
      assert.equal(item.embedding.length, 256, 'the provider default dimension (seed.yaml)');
      assert.ok(item.embedding.every((x) => typeof x === 'number' && Number.isFinite(x)));
      assert.ok(Math.abs(norm(item.embedding) - 1) < 1e-3, 'unit vectors');
    });
    assert.notDeepEqual(data.data[0].embedding, data.data[1].embedding);
    assert.ok(data.usage.prompt_tokens > 0);
    assert.equal(data.usage.total_tokens, data.usage.prompt_tokens);
  });

  test('encoding_format base64 with dimensions: decodes to a Float32Array of that length, equal to float', async () => {
    const input = 'decode me please';
    const b64 = await openai.embeddings.create({
      model: EMBED,
      input,
      dimensions: 64,
      encoding_format: 'base64',
    });
    const raw = b64.data[0].embedding;
    assert.equal(typeof raw, 'string', 'an explicit base64 request is returned as sent');
    const bytes = Buffer.from(raw, 'base64');
    assert.equal(bytes.length, 64 * 4);
    const vector = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    assert.equal(vector.length, 64);
    assert.ok(Math.abs(norm(Array.from(vector)) - 1) < 1e-3);

    const float = await openai.embeddings.create({ model: EMBED, input, dimensions: 64, encoding_format: 'float' });
    assert.equal(float.data[0].embedding.length, 64);
    float.data[0].embedding.forEach((x, i) => assert.ok(Math.abs(x - vector[i]) < 1e-6, `component ${i}`));
  });

  test('no encoding_format: the SDK asks base64 itself and hands back floats', async () => {
    const data = await openai.embeddings.create({ model: EMBED, input: 'sdk default', dimensions: 32 });
    const vector = data.data[0].embedding;
    assert.ok(Array.isArray(vector), 'the SDK decoded the base64 answer');
    assert.equal(vector.length, 32);
    const float = await openai.embeddings.create({
      model: EMBED,
      input: 'sdk default',
      dimensions: 32,
      encoding_format: 'float',
    });
    float.data[0].embedding.forEach((x, i) => assert.ok(Math.abs(x - vector[i]) < 1e-6, `component ${i}`));
  });
});

describe('models', () => {
  test('list: the seeded models, in OpenAI shape', async () => {
    const ids = [];
    for await (const model of openai.models.list()) {
      assert.equal(model.object, 'model');
      assert.equal(typeof model.created, 'number');
      assert.equal(typeof model.owned_by, 'string');
      ids.push(model.id);
    }
    assert.ok(ids.includes(CHAT), `${CHAT} is listed (${ids})`);
    assert.ok(ids.includes(EMBED), `${EMBED} is listed (${ids})`);
  });

  test('list: a tenant sees only its granted models', async () => {
    const ids = [];
    for await (const model of client(tightKey).models.list()) ids.push(model.id);
    assert.deepEqual(ids, [CHAT]);
  });

  test('retrieve', async () => {
    const model = await openai.models.retrieve(CHAT);
    assert.equal(model.id, CHAT);
    assert.equal(model.object, 'model');
  });

  test('retrieve an unknown id: NotFoundError', async () => {
    const err = await rejection(() => openai.models.retrieve('no-such-model'), OpenAI.NotFoundError);
    assert.equal(err.status, 404);
    assert.equal(err.code, 'model_not_found');
  });

  test('retrieve a model not granted to the tenant: NotFoundError', async () => {
    const err = await rejection(() => client(tightKey).models.retrieve(EMBED), OpenAI.NotFoundError);
    assert.equal(err.status, 404);
  });
});

describe('error classes', () => {
  const hello = [{ role: 'user', content: 'hello' }];

  test('401 bad key: AuthenticationError', async () => {
    const bad = client('sk-sy-compat-no-such-key-000000');
    const err = await rejection(() => bad.chat.completions.create({ model: CHAT, messages: hello }), OpenAI.AuthenticationError);
    assert.equal(err.status, 401);
    assert.equal(err.code, 'invalid_api_key');
    assert.ok(err.requestID ?? header(err.headers, 'x-request-id'));
    await rejection(() => bad.models.list(), OpenAI.AuthenticationError);
  });

  test('404 unknown model: NotFoundError', async () => {
    const err = await rejection(
      () => openai.chat.completions.create({ model: 'no-such-model', messages: hello }),
      OpenAI.NotFoundError,
    );
    assert.equal(err.status, 404);
    assert.equal(err.code, 'model_not_found');
    await rejection(() => openai.embeddings.create({ model: 'no-such-model', input: 'x' }), OpenAI.NotFoundError);
  });

  test('400 missing messages: BadRequestError naming the param', async () => {
    const err = await rejection(() => openai.chat.completions.create({ model: CHAT }), OpenAI.BadRequestError);
    assert.equal(err.status, 400);
    assert.equal(err.type, 'invalid_request_error');
    assert.equal(err.param, 'messages');
  });

  test('400 an embedding alias asked to chat: BadRequestError', async () => {
    const err = await rejection(
      () => openai.chat.completions.create({ model: EMBED, messages: hello }),
      OpenAI.BadRequestError,
    );
    assert.equal(err.status, 400);
    assert.equal(err.type, 'invalid_request_error');
  });

  test('400 a chat alias asked to embed: BadRequestError', async () => {
    const err = await rejection(() => openai.embeddings.create({ model: CHAT, input: 'x' }), OpenAI.BadRequestError);
    assert.equal(err.status, 400);
  });

  test('402 budget spent: APIError with status 402, budget_exceeded', async () => {
    const tight = client(tightKey);
    const err = await rejection(() => tight.chat.completions.create({ model: CHAT, messages: hello }), OpenAI.APIError);
    assert.equal(err.status, 402);
    assert.equal(err.type, 'insufficient_quota');
    assert.equal(err.code, 'budget_exceeded');
    // The SDK has no class of its own for 402: it must be none of the specific ones.
    for (const cls of [OpenAI.BadRequestError, OpenAI.AuthenticationError, OpenAI.RateLimitError, OpenAI.InternalServerError]) {
      assert.ok(!(err instanceof cls), `402 is not a ${cls.name}`);
    }
    const streamErr = await rejection(
      () => tight.chat.completions.create({ model: CHAT, messages: hello, stream: true }),
      OpenAI.APIError,
    );
    assert.equal(streamErr.status, 402, 'refused before the stream starts');
  });

  test('403 PermissionDeniedError: not reachable with the seed format', { skip: 'no seed entry lets a key reach a 403 on /v1 (contract §3 has no per-key restriction)' }, () => {});

  test('429 from the provider: RateLimitError with Retry-After', async () => {
    const err = await rejection(
      () => openai.chat.completions.create({ model: CHAT, messages: [{ role: 'user', content: 'slow down mock:status=429' }] }),
      OpenAI.RateLimitError,
    );
    assert.equal(err.status, 429);
    const retryAfter = header(err.headers, 'retry-after');
    assert.ok(retryAfter, 'Retry-After is kept');
    assert.match(retryAfter, /^\d+$/);
    assert.ok(err.message.length > 0);
  });

  test('429 on a stream request: RateLimitError before any chunk', async () => {
    await rejection(
      () =>
        openai.chat.completions.create({
          model: CHAT,
          messages: [{ role: 'user', content: 'mock:status=429' }],
          stream: true,
        }),
      OpenAI.RateLimitError,
    );
  });

  test('a provider 4xx passes through with its status', async () => {
    const err = await rejection(
      () => openai.chat.completions.create({ model: CHAT, messages: [{ role: 'user', content: 'mock:status=400' }] }),
      OpenAI.BadRequestError,
    );
    assert.equal(err.status, 400);
  });

  test('provider 500 becomes 502: InternalServerError, upstream_error', async () => {
    const err = await rejection(
      () => openai.chat.completions.create({ model: CHAT, messages: [{ role: 'user', content: 'mock:status=500' }] }),
      OpenAI.InternalServerError,
    );
    assert.equal(err.status, 502);
    assert.equal(err.code ?? err.type, 'upstream_error');
    const embedErr = await rejection(
      () => openai.embeddings.create({ model: EMBED, input: 'mock:status=503' }),
      OpenAI.InternalServerError,
    );
    assert.equal(embedErr.status, 502);
  });

  test('a stream broken mid-way: the iteration throws after the delivered chunks', async () => {
    const stream = await openai.chat.completions.create({
      model: CHAT,
      messages: [{ role: 'user', content: 'one two three four mock:break_after=2' }],
      stream: true,
    });
    let content = '';
    let thrown;
    try {
      for await (const chunk of stream) content += chunk.choices[0]?.delta?.content ?? '';
    } catch (err) {
      thrown = err;
    }
    assert.ok(thrown, 'the iteration must throw, not end quietly');
    assert.ok(thrown instanceof OpenAI.APIError, `an APIError, got ${thrown?.constructor?.name}`);
    assert.equal(thrown.error?.type ?? thrown.type, 'upstream_error');
    assert.equal(content, 'Mock answer:', 'the two content chunks delivered before the break');
  });

  test('a completions stream broken mid-way throws too', async () => {
    const stream = await openai.completions.create({
      model: CHAT,
      prompt: 'one two three mock:break_after=1',
      stream: true,
    });
    await rejection(async () => {
      for await (const chunk of stream) void chunk;
    }, OpenAI.APIError);
  });

  test('an unreachable gateway: APIConnectionError', async () => {
    const down = new OpenAI({ baseURL: 'http://127.0.0.1:9/v1', apiKey, maxRetries: 0, timeout: 5_000 });
    await rejection(() => down.models.list(), OpenAI.APIConnectionError);
  });
});
