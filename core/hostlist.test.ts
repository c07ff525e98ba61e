import { describe, expect, it } from 'vitest'
import { HostlistError, MAX_HOSTS, compressHostlist, expandHostlist } from './hostlist.js'

describe('expandHostlist', () => {
  it('expands ranges and lists', () => {
    expect(expandHostlist('node[1-3,20]')).toEqual(['node1', 'node2', 'node3', 'node20'])
  })
  it('keeps zero padding', () => {
    expect(expandHostlist('n[01-03]')).toEqual(['n01', 'n02', 'n03'])
    expect(expandHostlist('n[08-10]')).toEqual(['n08', 'n09', 'n10'])
  })
  it('takes several terms and single names', () => {
    expect(expandHostlist('a[1-2],b3,c')).toEqual(['a1', 'a2', 'b3', 'c'])
  })
  it('takes several ranges in one term, and suffixes', () => {
    expect(expandHostlist('r[1-2]n[1-2]-bmc')).toEqual(['r1n1-bmc', 'r1n2-bmc', 'r2n1-bmc', 'r2n2-bmc'])
  })
  it('drops repeats, keeps order', () => {
    expect(expandHostlist('b,a,b,n[2-1]'.replace(',n[2-1]', ''))).toEqual(['b', 'a'])
  })
  it.each([
    ['node[1-3', 4, "'[' without ']'"],
    ['node]1', 4, "']' without '['"],
    ['node[3-1]', 5, 'backwards'],
    ['node[a-b]', 5, 'expected a number'],
    ['node[]', 5, 'empty range'],
    ['a,,b', 2, 'empty name'],
    ['a,', 1, 'trailing comma'],
    ['no de', 2, "unexpected ' '"],
    ['', 0, 'empty hostlist'],
  ])('rejects %j, pointing at character %i', (input, pos, what) => {
    let err: unknown
    try {
      expandHostlist(input)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(HostlistError)
    const e = err as HostlistError
    expect(e.code).toBe('HOSTLIST_SYNTAX')
    expect(e.position).toBe(pos)
    expect(e.line).toContain(what)
    expect(e.message.split('\n')[2]!.indexOf('^')).toBe(pos + 2)
  })
  it('refuses a list that would exhaust memory', () => {
    expect(() => expandHostlist('n[1-99999999]')).toThrow(/more than/)
  })
  it('refuses a product of ranges from its size, before building it', () => {
    // 10^10 names: building them first ran the gateway out of memory
    expect(() => expandHostlist('a[1-99999]b[1-99999]')).toThrow(
      /9999800001 names, more than the limit of 100000 names per hostlist at character 1/,
    )
  })
  it('counts the limit over all terms and all ranges of a bracket', () => {
    expect(() => expandHostlist('a[1-60000],b[1-60000]')).toThrow(
      /120000 names, more than the limit of 100000/,
    )
    expect(() => expandHostlist(`n[${Array(20).fill('1-9999').join(',')}]`)).toThrow(/199980 names/)
    expect(() =>
      expandHostlist(
        Array(MAX_HOSTS + 1)
          .fill('a')
          .join(','),
      ),
    ).toThrow(/100001 names/)
    expect(expandHostlist('a[1-50000],b[1-50000]')).toHaveLength(MAX_HOSTS)
  })
  it('refuses numbers of more than 15 digits (not exact), and does not loop on them', () => {
    // k++ past 2^53 never moved: n[100000000000000000000] looped forever
    for (const [input, pos] of [
      ['n[100000000000000000000]', 2],
      ['n[1-100000000000000000000]', 4],
      ['n[9007199254740993]', 2],
    ] as const) {
      let err: unknown
      try {
        expandHostlist(input)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(HostlistError)
      expect((err as HostlistError).position).toBe(pos)
      expect((err as HostlistError).line).toMatch(/digits, more than the limit of 15/)
    }
    expect(expandHostlist('n[999999999999998-999999999999999]')).toEqual([
      'n999999999999998',
      'n999999999999999',
    ])
  })
})

describe('compressHostlist', () => {
  it('compresses runs', () => {
    expect(compressHostlist(['n1', 'n2', 'n3', 'n5', 'x'])).toBe('n[1-3,5],x')
  })
  it('keeps padding apart from unpadded', () => {
    expect(compressHostlist(['n01', 'n02', 'n3'])).toBe('n[01-02],n3')
  })
  it('keeps a name whose number is too long to be exact as written', () => {
    expect(compressHostlist(['n9007199254740993', 'n9007199254740992', 'n1000000000000000000000'])).toBe(
      'n9007199254740993,n9007199254740992,n1000000000000000000000',
    )
  })
  it('round-trips', () => {
    const list = 'node[1-16,20],demo-a,r[1-2]-bmc'
    expect(expandHostlist(compressHostlist(expandHostlist(list)))).toEqual(expandHostlist(list))
  })
})
