// Runs IAM simulations for infra's Go tests (stack/access_test.go).
// Input on stdin: a JSON array of {"id": string, "simulation": Simulation}
// in @cloud-copilot/iam-simulate's shape. Output on stdout: a JSON array
// of {"id", "result"} where result is Allowed, ExplicitlyDenied,
// ImplicitlyDenied or Error, with "errors" when the simulator refused
// the input (an unknown action, a context key the action does not take).
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate'

// iam-simulate 0.1.173 validates context keys against the action and
// drops kms:EncryptionContext:<key> (it matches variable keys only at a
// '/'), so a key policy condition on the encryption context could never
// match. Such requests are validated first, then run without the
// validation, with every other ignored key still an error.
const encryptionContext = /^kms:encryptioncontext:/i

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'))

const out = []
for (const c of cases) {
  const res = await runSimulation(c.simulation, {})
  if (res.resultType === 'error') {
    out.push({ id: c.id, result: 'Error', errors: res.errors })
    continue
  }
  if (res.resultType !== 'single') {
    out.push({ id: c.id, result: 'Error', errors: `a ${res.resultType} simulation: give one resource` })
    continue
  }
  const ignored = res.result.ignoredContextKeys ?? []
  const unknown = ignored.filter((k) => !encryptionContext.test(k))
  if (unknown.length > 0) {
    out.push({ id: c.id, result: 'Error', errors: `context keys the action does not take: ${unknown.join(', ')}` })
  } else if (ignored.length > 0) {
    // runUnsafeSimulation loads the resource policy without a name, which
    // its analysis needs: give it as a validated policy that has one.
    const sim = { ...c.simulation }
    if (sim.resourcePolicy) {
      sim.resourcePolicy = { __validated: true, policyDocument: sim.resourcePolicy, metadata: { name: 'ResourcePolicy' }, errors: [] }
    }
    out.push({ id: c.id, result: runUnsafeSimulation(sim, {}) })
  } else {
    out.push({ id: c.id, result: res.overallResult })
  }
}
process.stdout.write(JSON.stringify(out))
