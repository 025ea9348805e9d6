import { isLoud, LineSplitter, slotTag, tagLine } from './log-lines.js';

describe('LineSplitter', () => {
  it('gives whole lines, keeping a torn line until its end arrives', () => {
    const splitter = new LineSplitter();
    expect(splitter.push(Buffer.from('one\ntw'))).toEqual(['one']);
    expect(splitter.push(Buffer.from('o\nthr'))).toEqual(['two']);
    expect(splitter.push(Buffer.from('ee'))).toEqual([]);
    expect(splitter.push(Buffer.from('\n\nfour\n'))).toEqual(['three', '', 'four']);
    expect(splitter.end()).toEqual([]);
  });

  it('puts back together a UTF-8 character cut between two chunks', () => {
    const bytes = Buffer.from('héllo → wörld\n');
    const splitter = new LineSplitter();
    const lines = [...bytes].flatMap((byte) => splitter.push(Buffer.from([byte])));
    expect(lines).toEqual(['héllo → wörld']);
  });

  it('gives the last line without a newline when the stream ends', () => {
    const splitter = new LineSplitter();
    expect(splitter.push(Buffer.from('done\nlast words'))).toEqual(['done']);
    expect(splitter.end()).toEqual(['last words']);
    expect(splitter.end()).toEqual([]);
  });

  it('cuts a line longer than the limit, in one chunk or across many, keeping every character', () => {
    const splitter = new LineSplitter(10);
    expect(splitter.push(Buffer.from(`${'a'.repeat(25)}\nb\n`))).toEqual(['aaaaaaaaaa', 'aaaaaaaaaa', 'aaaaa', 'b']);
    const streamed = new LineSplitter(10);
    const lines: string[] = [];
    for (let i = 0; i < 7; i++) lines.push(...streamed.push(Buffer.from('xxxx')));
    // 28 characters without a newline: never more than 10 kept, the rest flushed as lines.
    expect(lines).toEqual(['xxxxxxxxxx', 'xxxxxxxxxx']);
    expect(streamed.push(Buffer.from('\n'))).toEqual(['xxxxxxxx']);
  });

  it('keeps a carriage return and blank lines as they were written', () => {
    expect(new LineSplitter().push('a\r\n\n  \n')).toEqual(['a\r', '', '  ']);
  });
});

describe('tagLine', () => {
  it('puts the slot tag before a text line, colours included', () => {
    expect(slotTag(3)).toBe('[w3] ');
    expect(tagLine('hello', 3)).toBe('[w3] hello');
    expect(tagLine('\x1b[32m[Nest] 12  - LOG\x1b[39m', 12)).toBe('[w12] \x1b[32m[Nest] 12  - LOG\x1b[39m');
    expect(tagLine('', 0)).toBe('[w0] ');
  });

  it('adds a slot field first to a JSON object line, which stays valid JSON', () => {
    const line = '{"level":30,"time":1,"msg":"hi","nested":{"a":[1,2]}}';
    const tagged = tagLine(line, 2);
    expect(tagged).toBe('{"slot":2,"level":30,"time":1,"msg":"hi","nested":{"a":[1,2]}}');
    expect(JSON.parse(tagged)).toEqual({ slot: 2, ...JSON.parse(line) });
    expect(JSON.parse(tagLine('{}', 1))).toEqual({ slot: 1 });
    expect(JSON.parse(tagLine(' { "a" : 1 } \r', 4))).toEqual({ slot: 4, a: 1 });
    expect(JSON.parse(tagLine('{ }', 5))).toEqual({ slot: 5 });
  });

  it('tags as text what only looks like JSON', () => {
    expect(tagLine('{ a: 1 }', 1)).toBe('[w1] { a: 1 }'); // console.log of an object
    expect(tagLine('{"a":1} and more}', 1)).toBe('[w1] {"a":1} and more}');
    expect(tagLine('[1,2]', 1)).toBe('[w1] [1,2]');
    expect(tagLine('{', 1)).toBe('[w1] {');
    expect(tagLine('"text"', 1)).toBe('[w1] "text"');
  });
});

describe('isLoud', () => {
  it.each([
    '[Nest] 41  - 12/03/2026, 10:00:00 AM    WARN [Scheduler] late',
    '[Nest] 41  - 12/03/2026, 10:00:00 AM   ERROR [ExceptionHandler] boom',
    '\x1b[31mFATAL\x1b[39m it broke',
    '{"level":"warn","message":"late"}',
    '{"level":"error","message":"boom"}',
    '{"level":50,"msg":"pino error"}',
    '{"level": 40,"msg":"pino warn"}',
  ])('finds a warning or an error in %p', (line) => {
    expect(isLoud(line)).toBe(true);
  });

  it.each([
    '[Nest] 41  - 12/03/2026, 10:00:00 AM     LOG [InstanceLoader] AppModule dependencies initialized',
    '{"level":"log","message":"Mapped {/, GET} route"}',
    '{"level":30,"msg":"pino info"}',
    'warnings are fine in prose, errors too',
  ])('finds none in %p', (line) => {
    expect(isLoud(line)).toBe(false);
  });
});
