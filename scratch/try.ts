import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { validateRow } from '../domain/validate-row';
import { matchKeyValues } from '../domain/match-keys';
import { clusterRecords } from '../domain/unify';
const rows: Record<string,string>[] = parse(readFileSync('/work/shared/data/splink/fake_1000.csv'), { columns: true });
const keysets: any = {
  a: [{name:'email',columns:['email'],normalize:'email'},{name:'name_dob',columns:['first_name','surname','dob'],normalize:'text'}],
  b: [{name:'email',columns:['email'],normalize:'email'},{name:'name_dob',columns:['first_name','surname','dob'],normalize:'text'},{name:'name_city',columns:['first_name','surname','city'],normalize:'text'}],
  c: [{name:'email',columns:['email'],normalize:'email'},{name:'sur_dob',columns:['surname','dob'],normalize:'text'}],
};
let rej=0; const ok: any[] = [];
for (const r of rows) { const c = validateRow(r, {email:'email', dob:'date'}); if (!c.ok) rej++; else ok.push({...c.values}); }
console.log('rejected', rej, 'ok', ok.length);
for (const [n, keys] of Object.entries(keysets)) {
  for (const set of [ok, rows]) {
  const recs = set.map((v:any) => ({ keys: matchKeyValues(v, keys as any) }));
  const cl = clusterRecords(recs);
  // pairwise P/R
  const truth = set.map((v:any)=>v.cluster); let tp=0, pp=0, tpairs=0;
  const byT = new Map<string,number>(); for (const t of truth) byT.set(t,(byT.get(t)??0)+1);
  for (const c of byT.values()) tpairs += c*(c-1)/2;
  for (const m of cl) { pp += m.length*(m.length-1)/2; const cnt = new Map<string,number>(); for (const i of m) cnt.set(truth[i],(cnt.get(truth[i])??0)+1); for (const c of cnt.values()) tp += c*(c-1)/2; }
  console.log(n, set.length, 'clusters', cl.length, 'P', (tp/pp).toFixed(3), 'R', (tp/tpairs).toFixed(3));
  }
}
