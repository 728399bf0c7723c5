// SPDX-License-Identifier: MIT
// The local Ethereum node of the PETra side-by-side benchmark: Hardhat
// Network with automine (a block per transaction, as soon as it arrives)
// and no fees, so that fresh anonymous addresses can send transactions
// without being funded first (which would link them on chain).
module.exports = {
    networks: {
        hardhat: {
            chainId: 31337,
            initialBaseFeePerGas: 0,
            gasPrice: 0,
            blockGasLimit: 1000000000,
            mining: { auto: true },
            accounts: { count: 2 },
            loggingEnabled: false,
        },
    },
};
