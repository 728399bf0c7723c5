// SPDX-License-Identifier: MIT
// PETra (paper 004) in Solidity: the same contract as gridledger's native
// src/contract/petra.c, for the side-by-side benchmark. Anonymous addresses
// are Ethereum accounts (msg.sender); the DSO is the deployer. Energy
// assets are {power W (positive: production, negative: consumption), start,
// end} in 15-minute intervals; amounts are micro-units; prices micro-units
// per kWh: amount = price * W * intervals * 900 / 3,600,000.
pragma solidity ^0.8.20;

contract PETra {
    struct Asset {
        address owner;
        int64 power;
        uint64 start;
        uint64 end;
        uint64 offer; // the open offer that locks it, or 0
    }

    struct Offer {
        address poster;
        bool ask;
        uint8 status; // 1 open, 2 accepted, 3 rescinded
        uint64 asset;
        uint64 price;
        uint64 locked; // a bid's funds held until it closes
    }

    address public immutable dso;
    mapping(uint64 => Asset) public assets;
    mapping(uint64 => Offer) public offers;
    mapping(address => uint64) public balance;
    uint64 public nextAsset = 1;
    uint64 public nextOffer = 1;

    event AssetAdded(address indexed owner, uint64 asset, int64 power, uint64 start, uint64 end);
    event FinancialAdded(address indexed owner, uint64 amount);
    event OfferPosted(uint64 offer, uint64 asset, uint64 price, bool ask);
    event OfferRescinded(uint64 offer);
    event OfferAccepted(uint64 offer, uint64 asset, int64 power, uint64 start, uint64 end, uint64 amount);
    event AssetDeposited(address indexed owner, uint64 asset);
    event FinancialDeposited(address indexed owner, uint64 amount);

    constructor() {
        dso = msg.sender;
    }

    modifier onlyDSO() {
        require(msg.sender == dso, "DSO only");
        _;
    }

    function amountOf(uint64 price, uint64 watts, uint64 n) public pure returns (uint64) {
        return uint64((uint256(price) * watts * n * 900) / 3600000);
    }

    function newAsset(address owner, int64 power, uint64 start, uint64 end) internal returns (uint64 id) {
        id = nextAsset++;
        assets[id] = Asset(owner, power, start, end, 0);
    }

    function addEnergyAsset(address owner, int64 power, uint64 start, uint64 end) external onlyDSO returns (uint64 id) {
        require(power != 0, "power must not be zero");
        require(end >= start, "end is before start");
        id = newAsset(owner, power, start, end);
        emit AssetAdded(owner, id, power, start, end);
    }

    function addFinancialBalance(address owner, uint64 amount) external onlyDSO {
        require(amount > 0, "amount must be positive");
        balance[owner] += amount;
        emit FinancialAdded(owner, amount);
    }

    function ownFree(uint64 id) internal view returns (Asset storage a) {
        a = assets[id];
        require(a.owner != address(0), "asset does not exist");
        require(a.owner == msg.sender, "asset belongs to another address");
        require(a.offer == 0, "asset is locked by an open offer");
    }

    function postOffer(uint64 assetId, uint64 price) external returns (uint64 id) {
        Asset storage a = ownFree(assetId);
        id = nextOffer++;
        bool ask = a.power > 0;
        uint64 locked = 0;
        if (!ask) {
            locked = amountOf(price, uint64(-a.power), a.end - a.start + 1);
            require(balance[msg.sender] >= locked, "balance too low");
            balance[msg.sender] -= locked;
        }
        a.offer = id;
        offers[id] = Offer(msg.sender, ask, 1, assetId, price, locked);
        emit OfferPosted(id, assetId, price, ask);
    }

    function rescindOffer(uint64 id) external {
        Offer storage f = offers[id];
        require(f.status != 0, "offer does not exist");
        require(f.poster == msg.sender, "offer was posted by another address");
        require(f.status == 1, "offer is not open");
        f.status = 3;
        assets[f.asset].offer = 0;
        balance[msg.sender] += f.locked;
        emit OfferRescinded(id);
    }

    function giveBack(Asset memory a, uint64 s, uint64 e, int64 rest) internal {
        if (a.start < s) newAsset(a.owner, a.power, a.start, s - 1);
        if (rest != 0) newAsset(a.owner, rest, s, e);
        if (e < a.end) newAsset(a.owner, a.power, e + 1, a.end);
    }

    function acceptOffer(uint64 id, uint64 assetId) external {
        Offer storage f = offers[id];
        require(f.status != 0, "offer does not exist");
        require(f.status == 1, "offer is not open");
        require(f.poster != msg.sender, "own offer");
        Asset storage mine = ownFree(assetId);
        Asset storage theirs = assets[f.asset];
        require(f.ask ? mine.power < 0 : mine.power > 0, "wrong kind of asset");
        uint64 s = mine.start > theirs.start ? mine.start : theirs.start;
        uint64 e = mine.end < theirs.end ? mine.end : theirs.end;
        require(s <= e, "intervals do not overlap");
        Asset memory prod = f.ask ? theirs : mine;
        Asset memory cons = f.ask ? mine : theirs;
        int64 p = prod.power < -cons.power ? prod.power : -cons.power;
        uint64 pay = amountOf(f.price, uint64(p), e - s + 1);
        if (f.ask) {
            require(balance[msg.sender] >= pay, "balance too low");
            balance[msg.sender] -= pay;
            balance[f.poster] += pay;
        } else {
            balance[msg.sender] += pay;
            balance[f.poster] += f.locked - pay;
        }
        // The overlapping parts change hands in place; the rest goes back.
        uint64 prodId = f.ask ? f.asset : assetId;
        uint64 consId = f.ask ? assetId : f.asset;
        assets[prodId] = Asset(cons.owner, p, s, e, 0);
        assets[consId] = Asset(prod.owner, -p, s, e, 0);
        giveBack(prod, s, e, prod.power - p);
        giveBack(cons, s, e, cons.power + p);
        f.status = 2;
        emit OfferAccepted(id, assetId, p, s, e, pay);
    }

    function depositEnergyAsset(uint64 id) external {
        ownFree(id);
        delete assets[id];
        emit AssetDeposited(msg.sender, id);
    }

    function depositFinancial(uint64 amount) external {
        require(amount > 0 && balance[msg.sender] >= amount, "balance too low");
        balance[msg.sender] -= amount;
        emit FinancialDeposited(msg.sender, amount);
    }
}
