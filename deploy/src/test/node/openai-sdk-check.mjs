// Drives a running Tessera (./tessera up) through the official OpenAI SDK, changing nothing but its base URL
// (and the API key). Usage: node openai-sdk-check.mjs BASE_URL API_KEY
// Prints one "ok - ..." line per check; exits 1 at the first failed check, with what was expected and what came.
import OpenAI from 'openai';

const [baseURL, apiKey] = process.argv.slice(2);
if (!baseURL || !apiKey) {
  console.error('usage: node openai-sdk-check.mjs BASE_URL API_KEY');
  process.exit(2);
}
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 120_000 });

function check(condition, what, detail) {
  must(condition, what, detail);
  console.log(`ok - ${what}`);
}

/** A check repeated per chunk: silent when it holds. */
function must(condition, what, detail) {
  if (!condition) {
    console.error(`not ok - ${what}${detail === undefined ? '' : ': ' + JSON.stringify(detail)}`);
    process.exit(1);
  }
}

async function expectError(promise, ErrorClass, status, what, mentions) {
  try {
    await promise;
  } catch (e) {
    check(e instanceof ErrorClass && e.status === status, `${what}: ${ErrorClass.name} ${status}`, { name: e.constructor.name, status: e.status, message: e.message });
    check(typeof e.error?.message === 'string' && e.error.message.includes(mentions), `${what}: the message says '${mentions}'`, e.error);
    return;
  }
  check(false, `${what}: expected ${ErrorClass.name}`);
}

const FINISH = ['stop', 'length', 'tool_calls'];

function checkUsage(usage, maxTokens, what) {
  check(usage && usage.prompt_tokens > 0 && usage.completion_tokens >= 1 && usage.completion_tokens <= maxTokens
      && usage.total_tokens === usage.prompt_tokens + usage.completion_tokens, `${what}: usage adds up`, usage);
}

/** Streams a chat completion and assembles it the way an agent would. */
async function streamChat(body) {
  const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
  const out = { content: '', reasoning: '', toolCalls: [], finish: [], usage: null, chunks: 0, firstRole: undefined };
  for await (const chunk of stream) {
    out.chunks++;
    must(chunk.object === 'chat.completion.chunk', 'stream: every chunk is a chat.completion.chunk', chunk);
    if (chunk.usage) { out.usage = chunk.usage; must(chunk.choices.length === 0, 'stream: the usage chunk has no choices', chunk); continue; }
    const choice = chunk.choices[0];
    if (out.chunks === 1) out.firstRole = choice.delta.role;
    out.content += choice.delta.content ?? '';
    out.reasoning += choice.delta.reasoning_content ?? '';
    for (const t of choice.delta.tool_calls ?? []) {
      out.toolCalls[t.index] ??= { id: '', name: '', arguments: '' };
      if (t.id) out.toolCalls[t.index].id = t.id;
      if (t.function?.name) out.toolCalls[t.index].name = t.function.name;
      out.toolCalls[t.index].arguments += t.function?.arguments ?? '';
    }
    if (choice.finish_reason) out.finish.push(choice.finish_reason);
  }
  must(out.usage !== null, 'stream: include_usage sends a usage chunk');
  return out;
}

const models = [];
for await (const m of client.models.list()) models.push(m);
check(models.length >= 1 && typeof models[0].id === 'string' && models[0].object === 'model', 'models.list names the served model', models);
const model = models[0].id;

// 1. A plain chat completion, then the same request streamed: greedy decoding makes them equal.
const chat = {
  model, temperature: 0, max_tokens: 24,
  messages: [{ role: 'system', content: 'You are a terse assistant.' }, { role: 'user', content: 'What is 2 + 2?' }],
};
const whole = await client.chat.completions.create(chat);
check(whole.object === 'chat.completion' && whole.id.startsWith('chatcmpl-') && whole.model === model, 'chat: a chat.completion for the model', whole);
const message = whole.choices[0].message;
check(message.role === 'assistant' && (typeof message.content === 'string' || message.tool_calls), 'chat: an assistant message', message);
check(FINISH.includes(whole.choices[0].finish_reason), 'chat: a finish reason', whole.choices[0]);
checkUsage(whole.usage, 24, 'chat');

const streamed = await streamChat(chat);
check(streamed.firstRole === 'assistant', 'stream: the first chunk carries the role', streamed);
check(streamed.finish.length === 1 && streamed.finish[0] === whole.choices[0].finish_reason, 'stream: one finish reason, the same as unstreamed', streamed.finish);
check(streamed.content === (message.content ?? ''), 'stream: the streamed content equals the unstreamed content', { streamed: streamed.content, whole: message.content });
check(streamed.reasoning === (message.reasoning_content ?? ''), 'stream: the streamed reasoning equals the unstreamed reasoning');
check(JSON.stringify(streamed.usage) === JSON.stringify(whole.usage), 'stream: usage (include_usage) equals the unstreamed usage', { streamed: streamed.usage, whole: whole.usage });

// The SDK's own stream helper accumulates the chunks into a completion.
const helper = client.chat.completions.stream(chat);
const final = await helper.finalChatCompletion();
check((final.choices[0].message.content ?? '') === (message.content ?? ''), "stream: the SDK's stream helper assembles the same message", final.choices[0].message);

// 2. Tools, with an earlier tool call and its result in the history.
const tools = [{
  type: 'function',
  function: {
    name: 'get_weather', description: 'Current weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string', description: 'City name' }, unit: { type: 'string', enum: ['c', 'f'] } }, required: ['city'] },
  },
}];
const history = [
  { role: 'user', content: 'Weather in Paris?' },
  { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
  { role: 'tool', tool_call_id: 'call_1', content: '{"temp_c": 18, "sky": "clear"}' },
];
const withTools = await client.chat.completions.create({ model, temperature: 0, max_tokens: 16, tools, messages: history });
check(FINISH.includes(withTools.choices[0].finish_reason), 'tools: a completion after a tool result', withTools.choices[0]);
checkUsage(withTools.usage, 16, 'tools');
check(withTools.usage.prompt_tokens > whole.usage.prompt_tokens, 'tools: the tool definitions and the tool result are in the prompt', withTools.usage);
const toolsStreamed = await streamChat({ model, temperature: 0, max_tokens: 16, tools, messages: history });
check(toolsStreamed.content === (withTools.choices[0].message.content ?? ''), 'tools: streamed equals unstreamed');

// A named tool_choice makes the model write that function's arguments.
const forced = await client.chat.completions.create({
  model, temperature: 0, max_tokens: 12, tools, messages: [{ role: 'user', content: 'Weather in Oslo?' }],
  tool_choice: { type: 'function', function: { name: 'get_weather' } },
});
const call = forced.choices[0].message.tool_calls?.[0];
check(call && call.type === 'function' && call.function.name === 'get_weather' && call.id.startsWith('call_')
    && typeof call.function.arguments === 'string', 'tools: a named tool_choice gives a get_weather tool call', forced.choices[0].message);
const forcedStreamed = await streamChat({
  model, temperature: 0, max_tokens: 12, tools, messages: [{ role: 'user', content: 'Weather in Oslo?' }],
  tool_choice: { type: 'function', function: { name: 'get_weather' } },
});
check(forcedStreamed.toolCalls.length === 1 && forcedStreamed.toolCalls[0].name === 'get_weather'
    && forcedStreamed.toolCalls[0].arguments === call.function.arguments, 'tools: the streamed tool call equals the unstreamed one', forcedStreamed.toolCalls);

// 3. The legacy completions endpoint.
const completion = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
check(completion.object === 'text_completion' && typeof completion.choices[0].text === 'string', 'completions: a text_completion', completion);
checkUsage(completion.usage, 8, 'completions');

// 4. Errors arrive as the SDK's typed errors, with OpenAI's error body.
await expectError(client.chat.completions.create({ ...chat, n: 2 }), OpenAI.BadRequestError, 400, 'n=2', 'n=1');
await expectError(client.chat.completions.create({ ...chat, model: 'no-such-model' }), OpenAI.NotFoundError, 404, 'an unknown model', 'no-such-model');
await expectError(client.chat.completions.create({ ...chat, temperature: 'hot' }), OpenAI.BadRequestError, 400, 'a wrong type', 'temperature');
await expectError(new OpenAI({ baseURL, apiKey: 'wrong-key', maxRetries: 0 }).models.list(), OpenAI.AuthenticationError, 401, 'a wrong API key', 'API key');

console.log('all checks passed');
