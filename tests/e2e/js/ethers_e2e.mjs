// ethers.js v6 against a real `hyperion node`.
// Usage: node ethers_e2e.mjs HTTP_URL WS_URL ARTIFACT_JSON
// Prints one "ok <step>" line per step; exits non-zero (with the error) on the first failure.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ethers } from "ethers";

const [httpUrl, wsUrl, artifactPath] = process.argv.slice(2);
const artifact = JSON.parse(readFileSync(artifactPath, "utf8"));
// dev accounts 4..6 of the test mnemonic: untouched by the other clients' tests
const KEYS = [
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
];

const step = (name) => console.log(`ok ${name}`);

async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function main() {
  const provider = new ethers.JsonRpcProvider(httpUrl, undefined, { staticNetwork: true, batchMaxCount: 10, cacheTimeout: -1 });
  const network = await provider.getNetwork();
  assert.equal(network.chainId, 133717n);
  const wallet = new ethers.Wallet(KEYS[0], provider);
  const other = new ethers.Wallet(KEYS[1], provider);
  assert.ok((await provider.getBalance(wallet.address)) > 0n);
  step("network and balance");

  // deploy
  const factory = new ethers.ContractFactory(artifact.abi, artifact.bytecode, wallet);
  const deployed = await factory.deploy(11);
  await deployed.waitForDeployment();
  const address = await deployed.getAddress();
  assert.ok((await provider.getCode(address)).length > 2);
  const counter = new ethers.Contract(address, artifact.abi, wallet);
  assert.equal(await counter.value(), 11n);
  assert.equal(await counter.doubled(4n), 8n);
  step("deploy and call");

  // transfer
  const recipient = ethers.Wallet.createRandom().address;
  const transfer = await wallet.sendTransaction({ to: recipient, value: ethers.parseEther("1.5") });
  const transferReceipt = await transfer.wait();
  assert.equal(transferReceipt.status, 1);
  assert.equal(await provider.getBalance(recipient), ethers.parseEther("1.5"));
  step("transfer");

  // estimate gas, then a transaction that logs
  const estimate = await counter.set_value.estimateGas(42n);
  assert.ok(estimate > 21000n && estimate < 200000n);
  const tx = await counter.set_value(42n, { gasLimit: estimate });
  const receipt = await tx.wait();
  assert.equal(receipt.status, 1);
  assert.ok(receipt.gasUsed <= estimate);
  assert.equal(receipt.logs.length, 1);
  const parsed = counter.interface.parseLog(receipt.logs[0]);
  assert.equal(parsed.name, "ValueChanged");
  assert.equal(parsed.args.new_value, 42n);
  assert.equal(parsed.args.old_value, 11n);
  step("estimate gas and receipt");

  // eth_getLogs through queryFilter
  const events = await counter.queryFilter(counter.filters.ValueChanged(wallet.address), 0, "latest");
  assert.equal(events.length, 1);
  assert.equal(events[0].transactionHash, receipt.hash);
  const rawLogs = await provider.getLogs({ address, fromBlock: receipt.blockNumber, toBlock: receipt.blockNumber });
  assert.equal(rawLogs.length, 1);
  step("getLogs");

  // revert reasons
  await assert.rejects(counter.set_value.staticCall(13n), (err) => {
    assert.equal(err.code, "CALL_EXCEPTION");
    assert.equal(err.reason, "unlucky number");
    return true;
  });
  await assert.rejects(counter.set_value.estimateGas(13n), (err) => {
    assert.equal(err.reason, "unlucky number");
    return true;
  });
  await assert.rejects(counter.doubled(5000n), (err) => err.reason === "too big");
  step("revert reason");

  // WebSocket: a contract event subscription and new blocks
  const wsProvider = new ethers.WebSocketProvider(wsUrl, undefined, { staticNetwork: true, cacheTimeout: -1 });
  try {
    const wsCounter = new ethers.Contract(address, artifact.abi, wsProvider);
    const gotEvent = new Promise((resolve) => {
      wsCounter.once("ValueChanged", (setter, oldValue, newValue, payload) => resolve({ setter, newValue, payload }));
    });
    const gotBlock = new Promise((resolve) => wsProvider.once("block", resolve));
    // let the eth_subscribe calls reach the node before the transaction does
    await new Promise((resolve) => setTimeout(resolve, 300));
    const wsTx = await counter.connect(other).set_value(77n);
    const event = await withTimeout(gotEvent, 15000, "ValueChanged over WebSocket");
    assert.equal(event.newValue, 77n);
    assert.equal(event.setter, other.address);
    assert.equal(event.payload.log.transactionHash, wsTx.hash);
    const blockNumber = await withTimeout(gotBlock, 15000, "a block over WebSocket");
    assert.ok(blockNumber >= 1);
    assert.equal(await wsProvider.getBlockNumber() >= blockNumber, true);
  } finally {
    await wsProvider.destroy();
  }
  step("websocket subscription");

  // replace a pending transaction (automine off so it stays pending)
  await provider.send("evm_setAutomine", [false]);
  try {
    const nonce = await provider.getTransactionCount(other.address, "pending");
    const slow = await other.sendTransaction({
      to: recipient, value: 1n, nonce, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 100_000_000n,
      gasLimit: 21000n,
    });
    const pending = await provider.getTransaction(slow.hash);
    assert.equal(pending.blockNumber, null);
    const fast = await other.sendTransaction({
      to: recipient, value: 2n, nonce, maxFeePerGas: 5_000_000_000n, maxPriorityFeePerGas: 2_000_000_000n,
      gasLimit: 21000n,
    });
    await provider.send("evm_mine", []);
    const fastReceipt = await provider.getTransactionReceipt(fast.hash);
    assert.equal(fastReceipt.status, 1);
    assert.equal(await provider.getTransactionReceipt(slow.hash), null);
  } finally {
    await provider.send("evm_setAutomine", [true]);
  }
  step("replace pending transaction");

  // eth_getProof
  const latest = await provider.getBlock("latest");
  const proof = await provider.send("eth_getProof", [address, [ethers.toBeHex(0, 32)], ethers.toQuantity(latest.number)]);
  assert.equal(proof.address.toLowerCase(), address.toLowerCase());
  assert.ok(proof.accountProof.length >= 1);
  assert.equal(ethers.keccak256(proof.accountProof[0]), latest.stateRoot);
  assert.equal(BigInt(proof.storageProof[0].value), await counter.value({ blockTag: latest.number }));
  assert.equal(proof.codeHash, ethers.keccak256(await provider.getCode(address)));
  step("merkle proof");

  // a batch of requests in one HTTP call (ethers batches concurrent calls)
  const [a, b, c] = await Promise.all([
    provider.getBlockNumber(), provider.getBalance(recipient), provider.getTransactionCount(wallet.address),
  ]);
  assert.ok(a >= 1 && b > 0n && c >= 3);
  step("batched requests");
  provider.destroy();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
